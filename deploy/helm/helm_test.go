// Package helm_test checks the chart in bingsan/ with the pinned helm
// (scripts/ensure-helm.sh): helm lint, and helm template over every values
// file in bingsan/ci, each rendered document decoded strictly into its
// Kubernetes API type and its configuration loaded by Bingsan's own config
// package. The values files in invalid/ must be refused.
package helm_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/bingsan/bingsan/config"
	"github.com/bingsan/bingsan/deploy/internal/testbin"
)

const (
	chart     = "bingsan"
	secretDir = "/var/run/secrets/bingsan"
)

func helm(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("BINGSAN_TEST_HELM"); h != "" {
		return h
	}
	out, err := exec.Command(filepath.Join(testbin.RepoRoot(t), "scripts", "ensure-helm.sh")).Output()
	if err != nil {
		t.Fatalf("scripts/ensure-helm.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// valuesFiles are the chart's default values ("") and bingsan/ci/*.yaml.
func valuesFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(chart, "ci", "*.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("values files in %s/ci: %v %v", chart, files, err)
	}
	return append([]string{""}, files...)
}

func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%v: %s", err, stderr.String())
	}
	return string(out), nil
}

func TestLint(t *testing.T) {
	t.Parallel()
	h := helm(t)
	for _, vf := range valuesFiles(t) {
		args := []string{"lint", "--strict", chart}
		if vf != "" {
			args = append(args, "-f", vf)
		}
		if out, err := run(t, h, args...); err != nil {
			t.Errorf("helm %v: %v\n%s", args, err, out)
		}
	}
}

func TestTemplate(t *testing.T) {
	t.Parallel()
	h := helm(t)
	for _, vf := range valuesFiles(t) {
		name := filepath.Base(vf)
		if vf == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := []string{"template", "rel", chart, "--namespace", "data"}
			if vf != "" {
				args = append(args, "-f", vf)
			}
			out, err := run(t, h, args...)
			if err != nil {
				t.Fatalf("helm %v: %v", args, err)
			}
			var values map[string]any
			if vf != "" {
				b, _ := os.ReadFile(vf)
				if err := yaml.Unmarshal(b, &values); err != nil {
					t.Fatal(err)
				}
			}
			checkRelease(t, decode(t, out), values)
		})
	}
}

// TestRefused: values that would break the deployment fail helm template
// with a message that says what to do.
func TestRefused(t *testing.T) {
	t.Parallel()
	h := helm(t)
	for file, want := range map[string]string{
		"sqlite-replicas.yaml":   "store.driver sqlite keeps the catalog in one pod's file",
		"secret-in-config.yaml":  "config warehouse.s3.secret-access-key is a secret",
		"no-dsn.yaml":            "store.driver postgres needs secrets.postgresDSN.secretName",
		"bingsan-extra-env.yaml": "extraEnv BINGSAN_STORE_POSTGRES_DSN",
	} {
		out, err := run(t, h, "template", "rel", chart, "-f", filepath.Join("invalid", file))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("helm template -f invalid/%s: %v (output %d bytes); want an error containing %q", file, err, len(out), want)
		}
	}
}

// objects of one rendered release, by kind.
type release struct {
	deployment *appsv1.Deployment
	job        *batchv1.Job
	service    *corev1.Service
	ingress    *networkingv1.Ingress
	monitor    *monitoringv1.ServiceMonitor
	rule       *monitoringv1.PrometheusRule
	pdb        *policyv1.PodDisruptionBudget
	hpa        *autoscalingv2.HorizontalPodAutoscaler
	pvc        *corev1.PersistentVolumeClaim
	accounts   []*corev1.ServiceAccount
}

// decode splits helm's output into documents and decodes each strictly
// (unknown or duplicate fields are errors) into its API type.
func decode(t *testing.T, manifests string) release {
	t.Helper()
	var r release
	for i, doc := range strings.Split(manifests, "\n---") {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("document %d is not YAML: %v\n%s", i, err, doc)
		}
		gvk := u.GroupVersionKind()
		var obj runtime.Object
		switch gvk.GroupVersion().String() + "/" + gvk.Kind {
		case "apps/v1/Deployment":
			r.deployment = &appsv1.Deployment{}
			obj = r.deployment
		case "batch/v1/Job":
			r.job = &batchv1.Job{}
			obj = r.job
		case "v1/Service":
			r.service = &corev1.Service{}
			obj = r.service
		case "v1/ServiceAccount":
			sa := &corev1.ServiceAccount{}
			r.accounts = append(r.accounts, sa)
			obj = sa
		case "v1/PersistentVolumeClaim":
			r.pvc = &corev1.PersistentVolumeClaim{}
			obj = r.pvc
		case "networking.k8s.io/v1/Ingress":
			r.ingress = &networkingv1.Ingress{}
			obj = r.ingress
		case "monitoring.coreos.com/v1/ServiceMonitor":
			r.monitor = &monitoringv1.ServiceMonitor{}
			obj = r.monitor
		case "monitoring.coreos.com/v1/PrometheusRule":
			r.rule = &monitoringv1.PrometheusRule{}
			obj = r.rule
		case "policy/v1/PodDisruptionBudget":
			r.pdb = &policyv1.PodDisruptionBudget{}
			obj = r.pdb
		case "autoscaling/v2/HorizontalPodAutoscaler":
			r.hpa = &autoscalingv2.HorizontalPodAutoscaler{}
			obj = r.hpa
		default:
			t.Fatalf("document %d has an unexpected kind %v", i, gvk)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s does not decode strictly: %v\n%s", gvk.Kind, err, doc)
		}
	}
	return r
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// secretEnv are the variables of the secret keys themselves, which the
// chart must never set: secrets come only as files.
var secretEnv = []string{
	"BINGSAN_STORE_POSTGRES_DSN", "BINGSAN_WAREHOUSE_S3_SECRET_ACCESS_KEY", "BINGSAN_WAREHOUSE_GCS_CREDENTIALS_JSON",
	"BINGSAN_WAREHOUSE_AZURE_ACCOUNT_KEY", "BINGSAN_WAREHOUSE_AZURE_CLIENT_SECRET", "BINGSAN_AUTH_BOOTSTRAP_CLIENT_SECRET",
	"BINGSAN_AUTH_KEY_ENCRYPTION_SECRET",
}

func checkRelease(t *testing.T, r release, values map[string]any) {
	t.Helper()
	if r.deployment == nil || r.service == nil {
		t.Fatal("no Deployment or Service rendered")
	}
	cfg, _ := values["config"].(map[string]any)
	driver := "postgres"
	if d, ok := cfg["store.driver"].(string); ok {
		driver = d
	}
	pod := r.deployment.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	checkSecurity(t, "Deployment", pod, c)

	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"readiness", c.ReadinessProbe, "/health/ready"}, {"liveness", c.LivenessProbe, "/health/live"}, {"startup", c.StartupProbe, "/health/live"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe is not GET %s on the http port: %+v", p.name, p.path, p.probe)
		}
	}
	if req := c.Resources.Requests.Memory(); req.IsZero() || c.Resources.Limits.Memory().Cmp(*req) < 0 {
		t.Errorf("memory request %v, limit %v", req, c.Resources.Limits.Memory())
	}
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds <= 15 {
		t.Errorf("termination grace period %v is not longer than server.shutdown-timeout (15s)", pod.TerminationGracePeriodSeconds)
	}
	if got := r.service.Spec.Ports; len(got) != 1 || got[0].TargetPort.String() != "http" {
		t.Errorf("service ports %+v", got)
	}
	env := checkEnv(t, "Deployment", pod, c)
	if env["BINGSAN_LISTEN"] != "0.0.0.0:8181" {
		t.Errorf("BINGSAN_LISTEN = %q", env["BINGSAN_LISTEN"])
	}
	for k, v := range cfg {
		name := "BINGSAN_" + strings.NewReplacer(".", "_", "-", "_").Replace(strings.ToUpper(k))
		if _, ok := env[name]; !ok {
			t.Errorf("config %s=%v is not passed as %s", k, v, name)
		}
	}

	migrates := driver == "postgres" && !disabled(values, "migration")
	if migrates != (r.job != nil) {
		t.Errorf("migration Job rendered %v, want %v", r.job != nil, migrates)
	}
	if migrates {
		if env["BINGSAN_STORE_MIGRATE_ON_START"] != "false" {
			t.Error("pods migrate on start although the Job migrates")
		}
		jp := r.job.Spec.Template.Spec
		if !slices.Equal(jp.Containers[0].Args, []string{"migrate", "up"}) || jp.RestartPolicy != corev1.RestartPolicyNever {
			t.Errorf("migration Job runs %v, restart %s", jp.Containers[0].Args, jp.RestartPolicy)
		}
		if hook := r.job.Annotations["helm.sh/hook"]; hook != "pre-install,pre-upgrade" {
			t.Errorf("migration Job hook %q", hook)
		}
		checkSecurity(t, "Job", jp, jp.Containers[0])
		jobEnv := checkEnv(t, "Job", jp, jp.Containers[0])
		delete(env, "BINGSAN_STORE_MIGRATE_ON_START")
		if !reflect.DeepEqual(env, jobEnv) {
			t.Errorf("the migration Job's configuration differs from the pods':\n%v\n%v", jobEnv, env)
		}
	}

	if driver == "sqlite" {
		if r.deployment.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Error("a SQLite deployment must not run two pods during a rollout")
		}
		if r.pvc == nil {
			t.Error("no PersistentVolumeClaim for the SQLite file")
		}
	} else if s := r.deployment.Spec.Strategy.RollingUpdate; s == nil || s.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update %+v can take every pod out of service", s)
	}

	autoscale := enabled(values, "autoscaling")
	if autoscale != (r.hpa != nil) || (autoscale && r.deployment.Spec.Replicas != nil) {
		t.Errorf("autoscaling %v: HPA %v, replicas %v", autoscale, r.hpa != nil, r.deployment.Spec.Replicas)
	}
	if r.hpa != nil && r.hpa.Spec.ScaleTargetRef.Name != r.deployment.Name {
		t.Errorf("HPA scales %q", r.hpa.Spec.ScaleTargetRef.Name)
	}
	if (r.pdb != nil) != (driver == "postgres") {
		t.Errorf("PodDisruptionBudget rendered %v with %s", r.pdb != nil, driver)
	}
	if enabled(values, "ingress") != (r.ingress != nil) {
		t.Errorf("Ingress rendered %v", r.ingress != nil)
	}
	if r.ingress != nil && r.ingress.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name != r.service.Name {
		t.Error("Ingress does not route to the Service")
	}
	if enabled(values, "serviceMonitor") != (r.monitor != nil) {
		t.Errorf("ServiceMonitor rendered %v", r.monitor != nil)
	}
	if r.monitor != nil && (r.monitor.Spec.Endpoints[0].Path != "/metrics" || r.monitor.Spec.Endpoints[0].Port != "http") {
		t.Errorf("ServiceMonitor scrapes %+v", r.monitor.Spec.Endpoints[0])
	}
	if enabled(values, "prometheusRule") != (r.rule != nil) {
		t.Errorf("PrometheusRule rendered %v", r.rule != nil)
	}
	if r.rule != nil {
		checkRuleMatchesAlerts(t, r.rule)
	}
}

// checkSecurity: non-root, read-only root file system, no privilege
// escalation, no capabilities, no service account token.
func checkSecurity(t *testing.T, what string, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	ps, sc := pod.SecurityContext, c.SecurityContext
	switch {
	case ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.RunAsUser == nil || *ps.RunAsUser == 0:
		t.Errorf("%s: pod may run as root: %+v", what, ps)
	case sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("%s: root file system is writable", what)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("%s: privilege escalation allowed", what)
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}):
		t.Errorf("%s: capabilities not dropped", what)
	case pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken:
		t.Errorf("%s: mounts a service account token it does not use", what)
	}
	mounted := map[string]bool{}
	for _, m := range c.VolumeMounts {
		mounted[m.MountPath] = true
	}
	if !mounted["/tmp"] || !mounted["/var/lib/bingsan"] {
		t.Errorf("%s: /tmp or the data directory is not a volume on a read-only root: %v", what, mounted)
	}
}

// checkEnv checks that every BINGSAN_* variable is a configuration key, that
// secrets arrive only as files of mounted Secrets, and that Bingsan's config
// package accepts the whole configuration. It returns the variables.
func checkEnv(t *testing.T, what string, pod corev1.PodSpec, c corev1.Container) map[string]string {
	t.Helper()
	known := map[string]bool{}
	for _, k := range config.Keys() {
		known[k.Env] = true
	}
	files := secretFiles(pod, c)
	env := map[string]string{}
	dir := t.TempDir()
	var kvs []string
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Errorf("%s: %s comes from %+v; configuration is plain values, secrets are files", what, e.Name, e.ValueFrom)
		}
		env[e.Name] = e.Value
		if !strings.HasPrefix(e.Name, "BINGSAN_") {
			continue
		}
		if slices.Contains(secretEnv, e.Name) {
			t.Errorf("%s: the secret %s is set as a variable", what, e.Name)
		}
		value := e.Value
		if plain, ok := strings.CutSuffix(e.Name, "_FILE"); ok {
			if !slices.Contains(secretEnv, plain) || !known[e.Name] {
				t.Errorf("%s: %s is not the -file key of a secret", what, e.Name)
			}
			if !files[e.Value] {
				t.Errorf("%s: %s=%s is not a file of a mounted Secret (%v)", what, e.Name, e.Value, files)
			}
			// The file as the pod would see it, with a stand-in secret.
			value = filepath.Join(dir, filepath.Base(e.Value))
			stand := "stand-in-secret"
			if plain == "BINGSAN_STORE_POSTGRES_DSN" {
				stand = "postgres://bingsan:secret@db:5432/bingsan"
			}
			if err := os.WriteFile(value, []byte(stand+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		} else if !known[e.Name] {
			t.Errorf("%s: %s is not a configuration key", what, e.Name)
		}
		kvs = append(kvs, e.Name+"="+value)
	}
	lookup := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		lookup[k] = v
	}
	lookup["BINGSAN_DATA_DIR"] = dir
	if _, _, err := config.Load(nil, func(k string) (string, bool) { v, ok := lookup[k]; return v, ok }); err != nil {
		t.Errorf("%s: Bingsan refuses the rendered configuration: %v", what, err)
	}
	return env
}

// secretFiles are the paths at which the container sees Secret keys.
func secretFiles(pod corev1.PodSpec, c corev1.Container) map[string]bool {
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	files := map[string]bool{}
	for _, v := range pod.Volumes {
		if v.Projected == nil || mounts[v.Name] != secretDir {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.Secret == nil {
				continue
			}
			for _, it := range src.Secret.Items {
				files[secretDir+"/"+it.Path] = true
			}
		}
	}
	return files
}

func enabled(values map[string]any, section string) bool {
	m, _ := values[section].(map[string]any)
	b, _ := m["enabled"].(bool)
	return b
}

func disabled(values map[string]any, section string) bool {
	m, _ := values[section].(map[string]any)
	b, ok := m["enabled"].(bool)
	return ok && !b
}

// checkRuleMatchesAlerts: the chart's PrometheusRule carries exactly the
// rules of deploy/monitoring/prometheus/alerts.yaml (the chart keeps a copy
// in files/, since Helm cannot read outside the chart).
func checkRuleMatchesAlerts(t *testing.T, rule *monitoringv1.PrometheusRule) {
	t.Helper()
	for _, p := range []string{filepath.Join("..", "monitoring", "prometheus", "alerts.yaml"), filepath.Join(chart, "files", "alerts.yaml")} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var want monitoringv1.PrometheusRuleSpec
		if err := yaml.UnmarshalStrict(b, &want); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !reflect.DeepEqual(rule.Spec, want) {
			t.Errorf("the chart's PrometheusRule differs from %s", p)
		}
	}
}
