package console_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/bingsan/bingsan/console"
	"github.com/bingsan/bingsan/server/servertest"
)

// TestBrowserPagingAndSearch: a namespace with more tables than one page
// shows the first page, loads the next on request, and a name filter
// searches every page.
func TestBrowserPagingAndSearch(t *testing.T) {
	srv := servertest.Start(t, servertest.SQLite, servertest.Config{Console: &console.Settings{}})
	api := catalogAPI{t: t, base: srv.URL}
	api.call("POST", "/v1/namespaces", `{"namespace":["many"]}`)
	const tables = 230
	schema := `{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"id","required":true,"type":"long"}]}`
	for i := range tables {
		api.call("POST", "/v1/namespaces/many/tables", fmt.Sprintf(`{"name":"t%03d","schema":%s}`, i, schema))
	}

	b := newBrowser(t, 1024, 768)
	b.run("first page",
		chromedp.Navigate(srv.URL+"/ui/#/w/default/n/many"),
		waitJS(`document.querySelectorAll("#tables-list li").length === 100`),
		jsTrue(`document.querySelector("#tables-status").textContent === "100 tables loaded so far" && !document.querySelector("#tables-more").hidden`),
		jsTrue(`document.querySelector("#tables-list a").textContent === "t000"`),
	)
	b.run("load more",
		click("#tables-more"),
		waitJS(`document.querySelectorAll("#tables-list li").length === 200`),
	)
	b.run("search every page",
		chromedp.SendKeys("#tables-search", "t22", chromedp.ByQuery),
		waitJS(`document.querySelector("#tables-status").textContent === "10 of 230 tables match"`),
		jsTrue(`JSON.stringify([...document.querySelectorAll("#tables-list a")].map(a => a.textContent)) === JSON.stringify(Array.from({length: 10}, (_, i) => "t22" + i))`),
		jsTrue(`document.querySelector("#tables-more").hidden`),
	)
	b.shot("01-search")
	b.run("clear the filter",
		chromedp.Evaluate(`(() => { const s = document.querySelector("#tables-search"); s.value = ""; s.dispatchEvent(new Event("input")); })()`, nil),
		waitJS(`document.querySelectorAll("#tables-list li").length === 230 && document.querySelector("#tables-status").textContent === "230 tables"`),
	)
}
