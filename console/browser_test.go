package console_test

// The console in a real headless Chromium (Debian's chromium, installed
// by scripts/ensure-chromium.sh), driven with chromedp against a real
// server (servertest). Screenshots are kept in test-artifacts/console at
// the repository root (BINGSAN_TEST_ARTIFACTS moves them).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bingsan/bingsan/auth"
	"github.com/bingsan/bingsan/console"
	"github.com/bingsan/bingsan/server/servertest"
)

const (
	adminID     = "root"
	adminSecret = "root-secret-42"
)

// browser is one Chromium with one tab, for one test.
type browser struct {
	t   *testing.T
	ctx context.Context
	dir string // screenshots
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("BINGSAN_TEST_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(p); err != nil {
		if os.Getenv("BINGSAN_TEST_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("chromium not found at %s (scripts/ensure-chromium.sh installs it)", p)
		}
		t.Skipf("chromium not found at %s; run scripts/ensure-chromium.sh", p)
	}
	return p
}

// newBrowser starts Chromium with a fresh profile and the flags this
// closed network needs (no background connections, no QUIC).
func newBrowser(t *testing.T, width, height int) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTime := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	dir := os.Getenv("BINGSAN_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "test-artifacts")
	}
	dir, err := filepath.Abs(filepath.Join(dir, "console"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: ctx, dir: dir}
}

// run runs actions; on failure it keeps a screenshot and the page's text.
func (b *browser) run(what string, actions ...chromedp.Action) {
	b.t.Helper()
	if err := chromedp.Run(b.ctx, actions...); err != nil {
		b.shot("FAILED-" + strings.ReplaceAll(what, " ", "-"))
		var text string
		tctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		_ = chromedp.Run(tctx, chromedp.Evaluate(`document.body.innerText`, &text))
		cancel()
		b.t.Fatalf("%s: %v\npage text:\n%s", what, err, text)
	}
}

// shot keeps a full-page screenshot as <dir>/<test>-<name>.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	var png []byte
	if err := chromedp.Run(b.ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.dir, strings.ReplaceAll(b.t.Name(), "/", "_")+"-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// waitJS evaluates a JavaScript expression until it is true. An
// exception (an element not there yet) or a navigation in progress counts
// as false.
func waitJS(expr string) chromedp.Action {
	wrapped := "(() => { try { return !!(" + expr + ") } catch (e) { return false } })()"
	return chromedp.ActionFunc(func(ctx context.Context) error {
		deadline := time.Now().Add(60 * time.Second)
		var lastErr error
		for time.Now().Before(deadline) {
			var ok bool
			if lastErr = chromedp.Evaluate(wrapped, &ok).Do(ctx); lastErr == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
		return fmt.Errorf("still false after 60s: %s (last error: %v)", expr, lastErr)
	})
}

// jsTrue evaluates expr and fails unless it is true.
func jsTrue(expr string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var ok bool
		if err := chromedp.Evaluate(expr, &ok).Do(ctx); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("not true: %s", expr)
		}
		return nil
	})
}

func click(sel string) chromedp.Action { return chromedp.Click(sel, chromedp.ByQuery) }

// goTo follows an in-app link (a hash change: no reload, so the
// in-memory credential stays).
func goTo(hash string) chromedp.Action {
	return chromedp.Evaluate(fmt.Sprintf("location.hash = %q", hash), nil)
}

// catalogAPI calls the catalog directly (as an engine would).
type catalogAPI struct {
	t     *testing.T
	base  string
	token string
}

func (c catalogAPI) call(method, path, body string) []byte {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		c.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	return out
}

func clientToken(t *testing.T, base, id, secret string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"catalog"}}
	resp, err := http.PostForm(base+"/v1/oauth/tokens", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

const ordersSchema = `{"type":"struct","schema-id":0,"identifier-field-ids":[1],"fields":[
	{"id":1,"name":"id","required":true,"type":"long","doc":"Order id"},
	{"id":2,"name":"customer","required":false,"type":{"type":"struct","fields":[
		{"id":5,"name":"name","required":true,"type":"string"},
		{"id":6,"name":"tags","required":false,"type":{"type":"list","element-id":7,"element":"string","element-required":false}}]}},
	{"id":3,"name":"amounts","required":false,"type":{"type":"map","key-id":8,"key":"string","value-id":9,"value":"decimal(10,2)","value-required":true}},
	{"id":4,"name":"ts","required":true,"type":"timestamptz"}%s]}`

// seed creates, through the REST API, namespaces sales and sales.eu, the
// table sales.orders with two schemas, a partition spec, a sort order,
// two snapshots, a branch and a tag, the view sales.big_orders and the
// function sales.add_tax (two overloads, the first in two dialects).
func seed(c catalogAPI) {
	c.call("POST", "/v1/namespaces", `{"namespace":["sales"],"properties":{"owner":"data-eng","comment":"Orders and customers"}}`)
	c.call("POST", "/v1/namespaces", `{"namespace":["sales","eu"]}`)
	c.call("POST", "/v1/namespaces", `{"namespace":["hr"]}`)
	c.call("POST", "/v1/namespaces/sales/tables", `{"name":"orders","schema":`+fmt.Sprintf(ordersSchema, "")+`,
		"partition-spec":{"spec-id":0,"fields":[{"name":"ts_day","transform":"day","source-id":4,"field-id":1000}]},
		"write-order":{"order-id":1,"fields":[{"transform":"identity","source-id":1,"direction":"asc","null-order":"nulls-first"}]},
		"properties":{"write.format.default":"parquet"}}`)
	c.call("POST", "/v1/namespaces/hr/tables", `{"name":"salaries","schema":`+fmt.Sprintf(ordersSchema, "")+`}`)
	// Schema 1 is schema 0 as the catalog stored it (with the ids it
	// assigned) plus one column.
	var loaded struct {
		Metadata struct {
			Location     string           `json:"location"`
			LastColumnID int              `json:"last-column-id"`
			Schemas      []map[string]any `json:"schemas"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(c.call("GET", "/v1/namespaces/sales/tables/orders", ""), &loaded); err != nil {
		c.t.Fatal(err)
	}
	loc := loaded.Metadata.Location
	next := loaded.Metadata.Schemas[0]
	next["schema-id"] = 1
	noteID := loaded.Metadata.LastColumnID + 1
	next["fields"] = append(next["fields"].([]any), map[string]any{"id": noteID, "name": "note", "required": false, "type": "string", "doc": "Free text"})
	schema1, err := json.Marshal(next)
	if err != nil {
		c.t.Fatal(err)
	}
	c.call("POST", "/v1/namespaces/sales/tables/orders", fmt.Sprintf(`{"requirements":[{"type":"assert-current-schema-id","current-schema-id":0}],"updates":[
		{"action":"add-schema","schema":%s,"last-column-id":%d},
		{"action":"set-current-schema","schema-id":-1}]}`, schema1, noteID))
	now := time.Now().UnixMilli()
	c.call("POST", "/v1/namespaces/sales/tables/orders", fmt.Sprintf(`{"requirements":[],"updates":[
		{"action":"add-snapshot","snapshot":{"snapshot-id":1001,"sequence-number":1,"timestamp-ms":%d,"manifest-list":"%s/metadata/snap-1001.avro",
			"summary":{"operation":"append","added-data-files":"3","added-records":"1200","added-files-size":"40960","total-records":"1200","total-data-files":"3"},"schema-id":1}},
		{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":1001}]}`, now-60000, loc))
	c.call("POST", "/v1/namespaces/sales/tables/orders", fmt.Sprintf(`{"requirements":[],"updates":[
		{"action":"add-snapshot","snapshot":{"snapshot-id":1002,"parent-snapshot-id":1001,"sequence-number":2,"timestamp-ms":%d,"manifest-list":"%s/metadata/snap-1002.avro",
			"summary":{"operation":"delete","deleted-data-files":"1","deleted-records":"200","removed-files-size":"8192","total-records":"1000","total-data-files":"2"},"schema-id":1}},
		{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":1002},
		{"action":"set-snapshot-ref","ref-name":"v1","type":"tag","snapshot-id":1001}]}`, now, loc))
	c.call("POST", "/v1/namespaces/sales/views", fmt.Sprintf(`{"name":"big_orders","schema":{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"id","required":true,"type":"long"}]},
		"view-version":{"version-id":1,"timestamp-ms":%d,"schema-id":0,"summary":{"engine-name":"spark"},"default-namespace":["sales"],
			"representations":[{"type":"sql","sql":"SELECT id FROM orders WHERE total > 100","dialect":"spark"},
				{"type":"sql","sql":"SELECT id FROM sales.orders WHERE total > 100","dialect":"trino"}]},"properties":{}}`, now))
	c.call("POST", "/v1/namespaces/sales/functions", `{"name":"add_tax","doc":"adds VAT","properties":{"owner":"finance"},"definitions":[
		{"parameters":[{"name":"amount","type":"double"}],"return-type":"double","function-type":"udf",
			"version":{"representations":[{"type":"sql","dialect":"spark","sql":"amount * 1.2"},{"type":"sql","dialect":"trino","sql":"amount * DOUBLE '1.2'"}],"deterministic":true}},
		{"parameters":[{"name":"amount","type":"decimal(10,2)"},{"name":"rates","type":{"type":"map","key":"string","value":"double"}}],"return-type":"decimal(10,2)","function-type":"udf",
			"version":{"representations":[{"type":"sql","dialect":"spark","sql":"amount * (1 + rates['vat'])"}]}}]}`)
}

func signInWithClientCredentials(b *browser, base, id, secret string) {
	b.t.Helper()
	b.run("sign in",
		chromedp.Navigate(base+"/ui/"),
		chromedp.WaitVisible("#signin-client-id", chromedp.ByQuery),
		jsTrue(`localStorage.length === 0 && sessionStorage.length === 0`),
		chromedp.SendKeys("#signin-client-id", id, chromedp.ByQuery),
		chromedp.SendKeys("#signin-client-secret", secret, chromedp.ByQuery),
		click("#signin-client-secret ~ button"),
		waitJS(`document.querySelector("main h1")?.textContent === "Warehouses"`),
		// The credential lives in memory only.
		jsTrue(`localStorage.length === 0 && sessionStorage.length === 0`),
	)
}

// TestBrowserCatalog signs in as the admin, browses to a table created
// through the API, checks the schema tree, the schema diff and the
// snapshot timeline, the view page, the function page (and a missing
// function), watches commits arrive live (and
// after a dropped connection, resumed), reads the audit log and the
// access pages, and checks the table page on a phone-sized screen.
func TestBrowserCatalog(t *testing.T) {
	srv := servertest.Start(t, servertest.Postgres, servertest.Config{
		Auth:    &auth.Options{BootstrapClientID: adminID, BootstrapClientSecret: adminSecret},
		Console: &console.Settings{},
	})
	admin := catalogAPI{t: t, base: srv.URL, token: clientToken(t, srv.URL, adminID, adminSecret)}
	seed(admin)
	// The browser goes through a proxy the test can cut, to see the
	// event stream resume.
	px := startProxy(t, strings.TrimPrefix(srv.URL, "http://"))
	base := "http://" + px.addr()

	b := newBrowser(t, 1280, 900)
	signInWithClientCredentials(b, base, adminID, adminSecret)
	b.shot("01-warehouses")

	b.run("browse to the namespace",
		click(`a[href="#/w/default"]`),
		waitJS(`[...document.querySelectorAll("#namespaces-list a")].some(a => a.textContent === "sales")`),
		click(`#namespaces-list a[href="#/w/default/n/sales"]`),
		waitJS(`document.querySelector("#tables-list a")?.textContent === "orders"`),
		waitJS(`document.querySelector("#namespaces-list a")?.textContent === "eu"`),
		waitJS(`document.querySelector("#views-list a")?.textContent === "big_orders"`),
		waitJS(`document.querySelector("#functions-list a")?.textContent === "add_tax"`),
		jsTrue(`document.querySelector("#functions-list a").getAttribute("href") === "#/w/default/n/sales/f/add_tax"`),
		jsTrue(`document.querySelector("#functions-status").textContent === "1 functions"`),
		jsTrue(`document.querySelector("main table").innerText.includes("data-eng")`),
	)
	b.shot("02-namespace")

	b.run("open the table",
		click(`#tables-list a`),
		chromedp.WaitVisible(".schema-tree", chromedp.ByQuery),
		// The current schema (1), nested fields under their parents, with
		// ids, required flags and docs.
		jsTrue(`document.querySelector(".schema-tree").dataset.schemaId === "1"`),
		// (The catalog assigned the ids on create, depth first.)
		jsTrue(`JSON.stringify([...document.querySelectorAll(".schema-tree li.field")].map(li => li.dataset.id + ":" + li.dataset.name)) ===
			'["1:id","2:customer","3:name","4:tags","5:element","6:amounts","7:key","8:value","9:ts","10:note"]'`),
		jsTrue(`!!document.querySelector('li.field[data-id="2"] li.field[data-id="4"] li.field[data-id="5"]')`),
		jsTrue(`!!document.querySelector('li.field[data-id="6"] li.field[data-id="8"]')`),
		jsTrue(`document.querySelector('li.field[data-id="1"] .req')?.textContent === "required"`),
		jsTrue(`document.querySelector('li.field[data-id="1"] .doc')?.textContent === "Order id"`),
		jsTrue(`document.querySelector('li.field[data-id="6"] .ftype')?.textContent === "map<string, decimal(10, 2)>"`),
		jsTrue(`document.querySelector('li.field[data-id="1"]').textContent.includes("identifier")`),
		// The timeline: newest first, the current snapshot marked, counts.
		jsTrue(`JSON.stringify([...document.querySelectorAll(".timeline li.snapshot")].map(li => li.dataset.snapshotId)) === '["1002","1001"]'`),
		jsTrue(`document.querySelector('.timeline li.snapshot').classList.contains("current")`),
		jsTrue(`document.querySelector('li[data-snapshot-id="1002"] .op').textContent === "delete"`),
		jsTrue(`document.querySelector('li[data-snapshot-id="1002"] dd[data-key="deleted-records"]').textContent === "200"`),
		jsTrue(`document.querySelector('li[data-snapshot-id="1001"] dd[data-key="added-records"]').textContent === "1200"`),
		jsTrue(`document.querySelector('li[data-snapshot-id="1001"] dd[data-key="added-files-size"]').textContent === "40.0 KiB"`),
		jsTrue(`document.querySelector('li[data-snapshot-id="1001"]').textContent.includes("tag v1")`),
		jsTrue(`document.querySelector('li[data-snapshot-id="1002"]').textContent.includes("branch main")`),
		// Specs and orders with the default marked; refs; metadata log.
		jsTrue(`document.querySelector('[data-spec-id="0"]').textContent.includes("default") && document.querySelector('[data-spec-id="0"]').textContent.includes("ts (9)")`),
		jsTrue(`document.querySelector('[data-order-id="1"]').textContent.includes("default")`),
		jsTrue(`document.querySelector("#refs").textContent.includes("v1") && document.querySelector("#refs").textContent.includes("tag")`),
		jsTrue(`document.querySelectorAll("#metadata-log tbody tr").length >= 4`),
	)
	b.shot("03-table")

	b.run("diff two schema versions",
		chromedp.SetValue("#diff-from", "0", chromedp.ByQuery),
		chromedp.SetValue("#diff-to", "1", chromedp.ByQuery),
		click("#diff-run"),
		chromedp.WaitVisible("#schema-diff-result", chromedp.ByQuery),
		jsTrue(`document.querySelector("#schema-diff-result").innerText.includes("added") && document.querySelector("#schema-diff-result").innerText.includes("note: string")`),
		jsTrue(`document.querySelectorAll("#schema-diff-result tbody tr").length === 1`),
	)

	b.run("fold a struct with the keyboard",
		chromedp.Focus(`li.field[data-id="2"] > details > summary`, chromedp.ByQuery),
		chromedp.KeyEvent(" "),
		waitJS(`!document.querySelector('li.field[data-id="2"] > details').open`),
		chromedp.KeyEvent(" "),
		waitJS(`document.querySelector('li.field[data-id="2"] > details').open`),
	)

	b.run("open the view",
		goTo("#/w/default/n/sales/v/big_orders"),
		waitJS(`!!document.querySelector('code[data-dialect="trino"]')`),
		jsTrue(`document.querySelector('code[data-dialect="trino"]').textContent === "SELECT id FROM sales.orders WHERE total > 100"`),
		jsTrue(`document.querySelector('code[data-dialect="spark"]').textContent === "SELECT id FROM orders WHERE total > 100"`),
		jsTrue(`document.querySelector('.version').innerText.includes("current") && document.querySelector('#versions').innerText.includes("sales")`),
	)
	b.shot("04-view")

	b.run("open the function",
		goTo("#/w/default/n/sales"),
		waitJS(`!!document.querySelector("#functions-list a")`),
		click("#functions-list a"),
		waitJS(`document.querySelectorAll("li.definition").length === 2`),
		jsTrue(`document.querySelector("main h1").textContent === "Function sales.add_tax"`),
		jsTrue(`document.querySelector('li.definition code[data-dialect="trino"]').textContent === "amount * DOUBLE '1.2'"`),
		jsTrue(`document.querySelector('li.definition code[data-dialect="spark"]').textContent === "amount * 1.2"`),
		jsTrue(`[...document.querySelectorAll("li.definition h3")].some(e => e.textContent === "(amount decimal(10,2), rates map<string, double>) → decimal(10,2)")`),
		jsTrue(`document.querySelector("#overview").innerText.includes("Function UUID") && /[0-9a-f]{8}-[0-9a-f]{4}-/.test(document.querySelector("#overview").innerText)`),
		jsTrue(`document.querySelector("#overview").innerText.includes("adds VAT")`),
		jsTrue(`document.querySelector(".version").innerText.includes("current")`),
		jsTrue(`document.querySelector("#properties").innerText.includes("finance")`),
	)
	b.shot("04-function")

	b.run("a missing function",
		goTo("#/w/default/n/sales/f/nope"),
		waitJS(`document.querySelector("main .error")?.textContent.startsWith("Not found")`),
		jsTrue(`document.querySelector("main h1").textContent === "Something went wrong"`),
	)

	b.run("a reload signs out", // the token lived in memory only
		chromedp.Reload(),
		waitJS(`!!document.querySelector("#signin-client-id")`),
	)
	signInWithClientCredentials(b, base, adminID, adminSecret)

	commit := func(key string) {
		admin.call("POST", "/v1/namespaces/sales/tables/orders", `{"requirements":[],"updates":[{"action":"set-properties","updates":{"`+key+`":"1"}}]}`)
	}
	b.run("watch events live",
		click(`#nav a[href="#/events"]`),
		chromedp.SetValue("#events-namespace", "sales", chromedp.ByQuery),
		click("#type-table-committed"),
		click("#events-apply"),
		waitJS(`document.querySelector("#events-status").dataset.state === "live"`),
		chromedp.ActionFunc(func(context.Context) error { commit("live.one"); return nil }),
		waitJS(`document.querySelectorAll('#events-list li.event[data-type="table.committed"]').length === 1`),
		jsTrue(`document.querySelector('#events-list li.event').innerText.includes("sales.orders")`),
	)
	b.shot("05-events")

	// Cut the connection and keep the proxy refusing while two commits
	// land: the console reconnects with after=<last id> and gets both.
	px.setDown(true)
	b.run("notice the disconnect", waitJS(`document.querySelector("#events-status").dataset.state === "down"`))
	commit("missed.one")
	commit("missed.two")
	px.setDown(false)
	b.run("resume after reconnecting",
		waitJS(`document.querySelectorAll('#events-list li.event[data-type="table.committed"]').length === 3`),
		jsTrue(`new Set([...document.querySelectorAll('#events-list li.event')].map(li => li.dataset.id)).size === 3`),
		waitJS(`document.querySelector("#events-status").dataset.state === "live"`),
	)
	if !px.sawStreamWith("after=") {
		t.Fatalf("the console reconnected without after=; requests seen: %q", px.requests())
	}
	b.shot("06-events-resumed")

	b.run("read the audit log",
		click(`#nav a[href="#/audit"]`),
		waitJS(`document.querySelectorAll("#audit-table tbody tr").length > 0`),
		jsTrue(`document.querySelector("#audit-table").innerText.includes("createTable")`),
		chromedp.SendKeys("#audit-operation", "updateTable", chromedp.ByQuery),
		click("#audit-outcome ~ button"),
		waitJS(`[...document.querySelectorAll("#audit-table tbody tr")].length === 6 &&
			[...document.querySelectorAll("#audit-table tbody tr td:nth-child(4)")].every(td => td.textContent === "updateTable")`),
	)
	b.shot("07-audit")

	b.run("read principals, roles and grants",
		click(`#nav a[href="#/access"]`),
		chromedp.WaitVisible("#grants", chromedp.ByQuery),
		jsTrue(`document.querySelector("#principals").innerText.includes("root")`),
		jsTrue(`document.querySelector("#roles").innerText.includes("admin")`),
		jsTrue(`document.querySelector("#grants").innerText.includes("catalog")`),
	)
	b.shot("08-access")

	b.run("the table page fits a phone-sized screen",
		chromedp.EmulateViewport(375, 812),
		goTo("#/w/default/n/sales/t/orders"),
		chromedp.WaitVisible(".timeline", chromedp.ByQuery),
		jsTrue(`document.documentElement.scrollWidth <= window.innerWidth`),
	)
	b.shot("09-narrow-table")
}

// TestBrowserLimitedPrincipal signs in with an API key of a principal that
// may read one namespace and one function in it: the console offers both
// (the function linked to its page), hides the admin pages and shows the
// catalog's refusal of anything else.
func TestBrowserLimitedPrincipal(t *testing.T) {
	srv := servertest.Start(t, servertest.SQLite, servertest.Config{
		Auth:            &auth.Options{BootstrapClientID: adminID, BootstrapClientSecret: adminSecret},
		Console:         &console.Settings{},
		ExtraWarehouses: []string{"lake"},
	})
	admin := catalogAPI{t: t, base: srv.URL, token: clientToken(t, srv.URL, adminID, adminSecret)}
	seed(admin)
	admin.call("POST", "/management/v1/roles", `{"name":"analysts"}`)
	admin.call("POST", "/management/v1/principals", `{"name":"ana","credentials":false,"roles":["analysts"]}`)
	admin.call("POST", "/management/v1/grants", `{"role":"analysts","privilege":"read","securable":{"type":"namespace","warehouse":"default","namespace":["sales"]}}`)
	admin.call("POST", "/management/v1/grants", `{"role":"analysts","privilege":"read","securable":{"type":"function","warehouse":"default","namespace":["sales"],"name":"add_tax"}}`)
	var key struct {
		Key    string `json:"key"`
		APIKey struct {
			Prefix string `json:"prefix"`
		} `json:"api-key"`
	}
	if err := json.Unmarshal(admin.call("POST", "/management/v1/api-keys", `{"principal":"ana","name":"console"}`), &key); err != nil || key.Key == "" {
		t.Fatalf("api key: %v", err)
	}
	px := startProxy(t, strings.TrimPrefix(srv.URL, "http://"))
	base := "http://" + px.addr()

	b := newBrowser(t, 1024, 768)
	b.run("a wrong key is refused",
		chromedp.Navigate(base+"/ui/"),
		chromedp.WaitVisible("#signin-api-key", chromedp.ByQuery),
		chromedp.SendKeys("#signin-api-key", "bsk_nothing_here", chromedp.ByQuery),
		click("#signin-api-key ~ button"),
		waitJS(`document.querySelector(".signin .error").textContent.length > 0`),
		jsTrue(`document.querySelector(".signin .error").textContent.startsWith("Invalid")`),
	)
	b.shot("01-refused")
	b.run("sign in with the API key",
		chromedp.SendKeys("#signin-api-key", key.Key, chromedp.ByQuery),
		click("#signin-api-key ~ button"),
		waitJS(`document.querySelector("main h1")?.textContent === "Warehouses"`),
		jsTrue(`document.querySelector("#who").innerText.includes("ana")`),
		jsTrue(`![...document.querySelectorAll("#nav a")].some(a => a.textContent === "Audit log" || a.textContent === "Access")`),
		// default: not listable, but the namespace ana may read is offered;
		// lake: nothing to read, not shown.
		jsTrue(`!document.querySelector('a[href="#/w/default"]') && !document.body.innerText.includes("lake")`),
		jsTrue(`!!document.querySelector('a[href="#/w/default/n/sales"]')`),
		jsTrue(`document.querySelector('a[href="#/w/default/n/sales/f/add_tax"]')?.textContent === "function sales.add_tax"`),
	)
	b.shot("02-entries")
	b.run("a function grant links to the function page",
		click(`a[href="#/w/default/n/sales/f/add_tax"]`),
		waitJS(`document.querySelector("main h1")?.textContent === "Function sales.add_tax"`),
		jsTrue(`document.querySelector('code[data-dialect="spark"]').textContent === "amount * 1.2"`),
		goTo("#/"),
		waitJS(`!!document.querySelector('a[href="#/w/default/n/sales"]')`),
	)
	b.run("browse what may be read",
		click(`a[href="#/w/default/n/sales"]`),
		waitJS(`document.querySelector("#tables-list a")?.textContent === "orders"`),
	)
	b.run("a table ana may not read",
		goTo("#/w/default/n/hr/t/salaries"),
		waitJS(`document.querySelector("main .error")?.textContent.startsWith("Not allowed")`),
		jsTrue(`!document.querySelector(".schema-tree")`),
	)
	b.shot("03-forbidden")

	// The key is deleted while the events pane is open: the reconnect is
	// refused, and the console notices and asks to sign in again.
	b.run("events as ana",
		click(`#nav a[href="#/events"]`),
		waitJS(`document.querySelector("#events-status").dataset.state === "live"`),
	)
	px.setDown(true)
	b.run("disconnected", waitJS(`document.querySelector("#events-status").dataset.state === "down"`))
	admin.call("DELETE", "/management/v1/api-keys/"+key.APIKey.Prefix, "")
	px.setDown(false)
	b.run("signed out once the credential is refused",
		waitJS(`document.querySelector(".signin .error")?.textContent === "Your session ended; sign in again."`),
	)
	b.shot("04-session-ended")
	b.run("sign in again",
		chromedp.SendKeys("#signin-client-id", adminID, chromedp.ByQuery),
		chromedp.SendKeys("#signin-client-secret", adminSecret, chromedp.ByQuery),
		click("#signin-client-secret ~ button"),
		waitJS(`document.querySelector("#who")?.innerText.includes("root")`),
	)
	b.run("sign out",
		click("#sign-out"),
		chromedp.WaitVisible("#signin-api-key", chromedp.ByQuery),
		jsTrue(`document.querySelector("#who").children.length === 0`),
	)
}

// TestBrowserWithoutAuth: with authentication off the console opens on
// the warehouses, and the stream needs no credential.
func TestBrowserWithoutAuth(t *testing.T) {
	srv := servertest.Start(t, servertest.SQLite, servertest.Config{Console: &console.Settings{}})
	api := catalogAPI{t: t, base: srv.URL}
	api.call("POST", "/v1/namespaces", `{"namespace":["a"]}`)

	b := newBrowser(t, 1024, 768)
	b.run("open",
		chromedp.Navigate(srv.URL+"/ui/"),
		waitJS(`document.querySelector("main h1")?.textContent === "Warehouses"`),
		jsTrue(`!document.querySelector("#signin-client-id") && !document.querySelector("#sign-out")`),
		click(`#nav a[href="#/events"]`),
		waitJS(`document.querySelector("#events-status").dataset.state === "live"`),
		chromedp.ActionFunc(func(context.Context) error {
			api.call("POST", "/v1/namespaces", `{"namespace":["a","b"]}`)
			return nil
		}),
		waitJS(`document.querySelector('#events-list li.event[data-type="namespace.created"]')?.innerText.includes("a.b")`),
	)
	b.shot("01-events")
}
