package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// pgbench runs PostgreSQL's own benchmark on a database of its own on the
// same server, at the same concurrency as the Bingsan workloads, with
// prepared statements (as Bingsan's driver uses).
type pgbench struct {
	bin      string
	base, db string
	dir      string
	conns    int
	duration time.Duration
}

// Scripts that the @name arguments of plan refer to.
var pgbenchScripts = map[string]string{
	"hot":    "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 1;\n",
	"spread": "\\set aid random(1, 100)\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n",
	// The write pattern of a catalog commit: one of 100 rows, and then
	// (as the event outbox's id counter is) one row every writer takes
	// until it commits. pgbench_branches has one row at scale 1.
	"spread-counter": "\\set aid random(1, 100)\nBEGIN;\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n" +
		"UPDATE pgbench_branches SET bbalance = bbalance + 1 WHERE bid = 1;\nEND;\n",
}

func (p *pgbench) conn() []string {
	return []string{dbURL(p.base, p.db)}
}

func (p *pgbench) init(ctx context.Context) error {
	args := append([]string{"-i", "-q", "-s", "1"}, p.conn()...)
	out, err := exec.CommandContext(ctx, p.bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgbench -i: %w\n%s", err, out)
	}
	return nil
}

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

func (p *pgbench) run(ctx context.Context, name string, extra []string) (row, error) {
	logDir, err := os.MkdirTemp(p.dir, "pgbench-")
	if err != nil {
		return row{}, err
	}
	defer os.RemoveAll(logDir)
	args := []string{"-M", "prepared", "-c", strconv.Itoa(p.conns), "-j", "2",
		"-T", strconv.Itoa(max(1, int(p.duration.Round(time.Second)/time.Second))),
		"-l", "--log-prefix=" + filepath.Join(logDir, "tx")}
	for _, a := range extra {
		if script, ok := strings.CutPrefix(a, "@"); ok {
			path := filepath.Join(p.dir, script+".sql")
			if err := os.WriteFile(path, []byte(pgbenchScripts[script]), 0o644); err != nil {
				return row{}, err
			}
			a = path
		}
		args = append(args, a)
	}
	args = append(args, p.conn()...)
	cmd := exec.CommandContext(ctx, p.bin, args...)
	machine0 := machineCPU()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return row{}, fmt.Errorf("pgbench %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	machine := machineCPU() - machine0
	client := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return row{}, fmt.Errorf("no tps in pgbench output:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	var h hist
	errors := 0
	logs, _ := filepath.Glob(filepath.Join(logDir, "tx*"))
	for _, l := range logs {
		f, err := os.Open(l)
		if err != nil {
			return row{}, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// client_id transaction_no time script_no time_epoch time_us
			fields := strings.Fields(sc.Text())
			if len(fields) < 3 {
				continue
			}
			us, err := strconv.ParseInt(fields[2], 10, 64)
			if err != nil {
				errors++ // "failed" or "skipped"
				continue
			}
			h.record(time.Duration(us) * time.Microsecond)
		}
		f.Close()
	}
	logf("  %.0f tps, p50 %s, p99 %s", tps, ms(h.quantile(0.5)), ms(h.quantile(0.99)))
	r := row{rps: tps, p50: h.quantile(0.5), p99: h.quantile(0.99), errors: errors}
	r.cpuSplit(int64(h.n), machine, 0, client)
	return r, nil
}
