// The look every ctlab page shares (report.html, matrix.html, the kernels' matrix page): colours,
// type, the verdict box, tables, expectation lists, links. Each page adds its own rules after it.
export const PAGE_CSS = `
:root{--ink:#1c2733;--muted:#5b6b7b;--line:#d9e1e8;--bad:#c62828;--ok:#2e7d32;--bg:#f6f8fa}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#fff}
main{max-width:1200px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 8px;padding-bottom:4px;border-bottom:2px solid var(--line)}h3{font-size:16px;margin:20px 0 6px}
.meta{color:var(--muted);font-size:13px}
.verdict{margin:18px 0;padding:16px 20px;border-radius:8px;font-size:18px;line-height:1.45;border-left:8px solid}
.verdict.pass{background:#e8f5e9;border-color:var(--ok)}.verdict.fail{background:#ffebee;border-color:var(--bad)}
.verdict .status{display:block;font-size:13px;font-weight:700;letter-spacing:.05em;text-transform:uppercase;margin-bottom:4px}
.what{background:var(--bg);border-radius:8px;padding:12px 18px;color:#2b3a48}
table{border-collapse:collapse;font-size:14px}th,td{padding:6px 12px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}.sub{color:var(--muted);font-size:12px;font-weight:400}
ul.exp{list-style:none;padding:0}ul.exp li{padding:3px 0}ul.exp li.ok b{color:var(--ok)}ul.exp li.fail b{color:var(--bad)}
.okline{color:var(--ok)}.badline{color:var(--bad);font-weight:600}
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--bg);padding:1px 4px;border-radius:3px}
a{color:#1565c0}.problems{background:#fff8e1;border-left:6px solid #f9a825;padding:10px 16px;border-radius:6px}
`;
