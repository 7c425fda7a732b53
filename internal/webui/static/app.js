// Parapet's UI: a few views over the REST API. No framework, no build,
// every value from the server inserted as text (never as HTML).
"use strict";

const state = { csrf: "", role: "", name: "", stream: null };
const $ = (sel, root = document) => root.querySelector(sel);

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "style") e.style.cssText = v; // CSSOM: allowed by the CSP, unlike a style attribute
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

// show replaces a view's content; null and undefined parts (a card a role
// does not get, say) are left out, never shown as the text "null".
function show(v, ...kids) {
  v.replaceChildren(...kids.flat().filter(k => k !== null && k !== undefined));
}

// The account / OU every list shows: ?account=ID,ID…&ou=OU in the page's
// address (before the #), so that it survives reloads, links and moving
// between pages; the lists of account-bearing items are asked for with it.
const SCOPED = ["/v1/incidents", "/v1/findings", "/v1/approvals", "/v1/posture", "/v1/paths", "/v1/timeline", "/v1/stats", "/v1/playbook-runs"];
function scopeParams() {
  const q = new URLSearchParams(location.search), out = new URLSearchParams();
  for (const k of ["account", "ou"]) if (q.get(k)) out.set(k, q.get(k));
  return out;
}
function scoped(path) {
  const [base, query] = path.split("?");
  const sp = scopeParams();
  if (!SCOPED.includes(base) || !sp.toString()) return path;
  const q = new URLSearchParams(query || "");
  for (const [k, v] of sp) q.set(k, v);
  return base + "?" + q;
}

// scopeNote says, on a page the header's scope only partly applies to,
// what it covers (null without a scope).
function scopeNote(text) {
  const sp = scopeParams();
  if (!sp.toString()) return null;
  return el("p", { class: "muted scope-note" }, (sp.get("ou") ? "OU " + sp.get("ou") : "Account " + sp.get("account")) + ": " + text);
}

// opts.scope === false: every account's (an incident's own approvals).
async function api(method, path, body, o = {}) {
  if (method === "GET" && o.scope !== false) path = scoped(path);
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (method !== "GET") {
    opts.headers["X-CSRF-Token"] = state.csrf;
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body || {});
  }
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({}));
  if (r.status === 401) { showLogin(); throw new Error("signed out"); }
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}

function when(t) {
  if (!t) return "";
  const d = new Date(t);
  return d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

function riskColor(r) {
  if (r >= 80) return "var(--critical)";
  if (r >= 60) return "var(--high)";
  if (r >= 30) return "var(--medium)";
  return "var(--low)";
}

function level(l) { return el("span", { class: "lv lv-" + (l || "informational") }, l || "info"); }

function chain(tactics) {
  const c = el("div", { class: "chain" });
  (tactics || []).filter(t => t !== null).forEach((t, i) => {
    if (i) c.append(el("span", { class: "arrow" }, "→"));
    c.append(el("span", { class: "tactic" }, t));
  });
  return c;
}

function showLogin() {
  $("#login").hidden = false;
  $("#nav").hidden = true;
  $("#view").replaceChildren();
  $("#who").textContent = "";
  if (state.stream) { state.stream.close(); state.stream = null; }
}

async function login(ev) {
  ev.preventDefault();
  $("#login-error").textContent = "";
  const r = await fetch("/ui/login", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: $("#token").value }), credentials: "same-origin" });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) { $("#login-error").textContent = data.error || "sign-in failed"; return; }
  $("#token").value = "";
  signedIn(data);
}

function signedIn(s) {
  Object.assign(state, { csrf: s.csrf, role: s.role, name: s.name });
  $("#login").hidden = true;
  $("#nav").hidden = false;
  $("#who").textContent = (s.name || "token") + " · " + s.role;
  if (!state.stream) {
    state.stream = new EventSource("/v1/stream");
    state.stream.onopen = () => $("#live").classList.add("on");
    state.stream.onerror = () => $("#live").classList.remove("on");
    state.stream.addEventListener("posture", () => { if (current === "posture") route(); });
    state.stream.addEventListener("incident", () => {
      // Not while the analyst types a search: the list refreshes with it.
      const typing = document.activeElement && document.activeElement.id === "filter-q";
      if ((current === "incidents" && !typing) || current === "overview") route();
      refreshPending();
    });
    state.stream.addEventListener("run", () => {
      // Not while the analyst types a comment: the page redraws with the decision.
      const typing = document.activeElement && document.activeElement.matches("#view input[type=text], #view textarea");
      if ((current === "incident" || current === "approvals") && !typing) route();
      refreshPending();
    });
  }
  refreshPending();
  loadScope();
  route();
}

// loadScope fills the header's selector from the organization's inventory
// (hidden without one, unless the address names a scope).
async function loadScope() {
  const sel = $("#scope");
  let inv = { items: [], ous: [] };
  try { inv = await api("GET", "/v1/org/accounts"); } catch (e) { /* signed out */ }
  const cur = scopeParams();
  const value = cur.get("ou") ? "ou:" + cur.get("ou") : cur.get("account") ? "account:" + cur.get("account") : "";
  const ous = inv.ous || [], accts = inv.items || [];
  const opts = [el("option", { value: "" }, "All accounts")];
  if (ous.length) opts.push(el("optgroup", { label: "OUs" }, ous.map(o => el("option", { value: "ou:" + o }, o))));
  if (accts.length) opts.push(el("optgroup", { label: "Accounts" }, accts.map(a => el("option", { value: "account:" + a.id },
    (a.name ? a.name + " · " : "") + a.id + (a.ou ? " (" + a.ou + ")" : "")))));
  if (value && ![...el("select", {}, opts).options].some(o => o.value === value)) opts.push(el("option", { value }, value.replace(":", " ")));
  sel.replaceChildren(...opts);
  sel.value = value;
  sel.classList.toggle("on", value !== "");
  sel.hidden = !inv.organization && !value;
  sel.onchange = () => {
    const q = new URLSearchParams(location.search);
    q.delete("account"); q.delete("ou");
    const [k, ...rest] = sel.value.split(":");
    if (k) q.set(k, rest.join(":"));
    history.replaceState(null, "", location.pathname + (q.toString() ? "?" + q : "") + location.hash);
    sel.classList.toggle("on", sel.value !== "");
    refreshPending();
    route();
  };
}

async function refreshPending() {
  try {
    const a = await api("GET", "/v1/approvals?status=pending");
    const n = (a.items || []).length;
    $("#pending").hidden = n === 0;
    $("#pending").textContent = n;
  } catch (e) { /* signed out */ }
}

let current = "";
async function route() {
  const [, view, arg, sub] = (location.hash || "#/incidents").split("/");
  current = view || "incidents";
  document.querySelectorAll("nav a").forEach(a => a.classList.toggle("active", a.dataset.view === current || (current === "incident" && a.dataset.view === "incidents")));
  const v = $("#view");
  try {
    if (current === "incident") await incidentView(v, decodeURIComponent(arg || ""), decodeURIComponent(sub || ""));
    else if (current === "approvals") await approvalsView(v);
    else if (current === "overview") await overviewView(v);
    else if (current === "posture") await postureView(v, decodeURIComponent(arg || ""));
    else if (current === "paths") await pathsView(v, decodeURIComponent(arg || ""));
    else if (current === "org") await orgView(v);
    else if (current === "audit") await auditView(v);
    else if (current === "timeline") await timelineView(v, decodeURIComponent(arg || ""), decodeURIComponent(sub || ""));
    else await incidentsView(v);
  } catch (e) {
    if (e.message !== "signed out") show(v, el("p", { class: "error" }, e.message));
  }
}

// The incident list's filter, kept while the analyst moves between pages.
const filter = { status: "open", q: "", minRisk: "", sort: "risk" };

async function incidentsView(v) {
  const params = new URLSearchParams({ limit: "200" });
  if (filter.status) params.set("status", filter.status);
  if (filter.q) params.set("q", filter.q);
  if (filter.minRisk) params.set("min_risk", filter.minRisk);
  params.set("sort", filter.sort || "risk");
  const data = await api("GET", "/v1/incidents?" + params);
  const items = data.items || [];
  // Each row is a link: the title is one, and the row itself takes focus
  // and opens on Enter.
  const open = i => { location.hash = "#/incident/" + encodeURIComponent(i.id); };
  const rows = items.map(i => el("tr", { class: "row", "data-id": i.id, "data-account": i.account || "", tabindex: "0", "aria-label": "incident: " + (i.title || i.id), onclick: ev => { if (!ev.target.closest("a")) open(i); },
    onkeydown: ev => { if (ev.key === "Enter" && ev.target === ev.currentTarget) { ev.preventDefault(); open(i); } } },
    el("td", {}, el("span", { class: "risk", style: "background:" + riskColor(i.risk) }, Math.round(i.risk || 0))),
    el("td", {}, level(i.level)),
    el("td", {}, el("a", { href: "#/incident/" + encodeURIComponent(i.id), tabindex: "-1" }, el("strong", {}, i.title || i.id)), i.summary ? el("div", { class: "story-line" }, i.summary) : null, el("div", { class: "muted" }, (i.principal || i.key || i.account || "—") + (i.ou ? " · " + i.ou : "") + (i.status === "closed" ? " · closed" : ""))),
    el("td", {}, chain(i.tactics)),
    el("td", {}, i.finding_count || (i.findings || []).length || 0),
    el("td", { class: "muted" }, when(i.last))));
  const status = el("select", { id: "filter-status", "aria-label": "status", onchange: () => { filter.status = status.value; route(); } },
    [["open", "Open"], ["closed", "Closed"], ["", "All"]].map(([val, label]) => el("option", { value: val }, label)));
  status.value = filter.status;
  const risk = el("select", { id: "filter-risk", "aria-label": "minimum risk", onchange: () => { filter.minRisk = risk.value; route(); } },
    [["", "Any risk"], ["30", "Risk ≥ 30"], ["60", "Risk ≥ 60"], ["80", "Risk ≥ 80"]].map(([val, label]) => el("option", { value: val }, label)));
  risk.value = filter.minRisk;
  const sort = el("select", { id: "filter-sort", "aria-label": "order", onchange: () => { filter.sort = sort.value; route(); } },
    [["risk", "Highest risk"], ["last", "Last seen"]].map(([val, label]) => el("option", { value: val }, label)));
  sort.value = filter.sort;
  const q = el("input", { type: "search", id: "filter-q", placeholder: "principal, account, resource, title…", "aria-label": "search" });
  q.value = filter.q;
  let timer = null;
  q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { filter.q = q.value.trim(); route().then(() => { const box = $("#filter-q"); if (box) { box.focus(); box.setSelectionRange(box.value.length, box.value.length); } }); }, 250); });
  const filtered = filter.status !== "" || filter.q || filter.minRisk || scopeParams().toString();
  show(v, el("h1", {}, "Incidents"),
    el("div", { class: "filters" }, status, risk, sort, q),
    items.length ? el("div", { class: "card" }, el("table", { id: "incidents" },
      el("thead", {}, el("tr", {}, el("th", {}, "Risk"), el("th", {}, "Level"), el("th", {}, "Incident"), el("th", {}, "ATT&CK tactics"), el("th", {}, "Findings"), el("th", {}, "Last seen"))),
      el("tbody", {}, rows)))
      : el("p", { class: "empty", id: "no-incidents" }, filtered ? "No incident matches this filter." : "No incidents yet. Telemetry posted to the intake shows up here as it is processed."));
}

async function incidentView(v, id, focus) {
  const data = await api("GET", "/v1/incidents/" + encodeURIComponent(id));
  const i = data.incident;
  const findings = data.findings || [];
  const approvals = (await api("GET", "/v1/approvals", null, { scope: false })).items || [];
  const mine = approvals.filter(a => findings.some(f => f.id === a.finding_id));
  const runs = (await api("GET", "/v1/playbook-runs?incident_id=" + encodeURIComponent(id), undefined, { scope: false })).items || [];
  const playbooks = await api("GET", "/v1/playbooks");
  show(v, 
    el("p", {}, el("a", { href: "#/incidents" }, "← Incidents")),
    el("h1", {}, i.title),
    i.summary ? el("p", { class: "story", id: "incident-summary" }, i.summary) : null,
    i.merged_into ? el("p", { class: "muted", id: "merged-into" }, "Merged into ", el("a", { href: "#/incident/" + encodeURIComponent(i.merged_into) }, i.merged_into)) : null,
    el("div", { class: "card" },
      el("p", {}, el("span", { class: "risk", style: "background:" + riskColor(i.risk) }, "risk " + Math.round(i.risk)), " ", level(i.level), " ",
        el("span", { class: "muted" }, i.principal ? entityLink("principal", i.principal) : (i.key || "—"), " · account " + (i.account || "—") + " · " + (when(i.first) || "—") + " → " + (when(i.last) || "—"))),
      el("h2", {}, "Why this risk"), el("ul", { class: "why" }, (i.why || []).filter(w => w !== null).map(w => el("li", {}, w))),
      el("h2", {}, "ATT&CK"), chain(i.tactics), el("p", { class: "muted" }, idList(i.techniques, 6)),
      (i.resources || []).length ? el("p", {}, el("span", { class: "muted" }, "Resources: "), idList(i.resources, 3, r => "#/timeline/resource/" + encodeURIComponent(r))) : null,
      findings.length > 1 ? el("p", {}, el("span", { class: "muted" }, "Findings: "), idList(findings.map(f => f.id), 3, f => "#/incident/" + encodeURIComponent(id) + "/" + encodeURIComponent(f))) : null),
    mine.length ? el("div", { class: "card" }, el("h2", {}, "Response"), approvalList(mine)) : null,
    runsCard(runs, findings, playbooks),
    handleCard(i, findings),
    el("h2", {}, "Timeline"),
    el("div", { class: "timeline" }, findings.map(findingItem)));
  // #/incident/ID/FINDING: that finding, scrolled to and focused.
  const card = focus && document.querySelector('[data-finding="' + CSS.escape(focus) + '"]');
  if (card) { card.scrollIntoView({ block: "start" }); card.focus(); }
}

// runsCard: what the playbooks did for this incident's findings, and (for
// analysts) a playbook to run on one of them.
function runsCard(runs, findings, playbooks) {
  const items = runs.map(r => el("li", { "data-run": r.id },
    el("strong", {}, r.playbook), " ", el("span", { class: "status run-" + r.status }, r.status),
    el("span", { class: "muted" }, " · asked by " + (r.requested_by || "parapet") + (r.decided_by ? " · decided by " + r.decided_by : "") + " · " + when(r.updated || r.started)),
    r.error ? el("div", { class: "bad" }, r.error) : null,
    el("ul", {}, (r.steps || []).map(s => el("li", { class: "muted" }, s.action + " " + (s.target || "") + ": " + s.status +
      (s.reason ? " (" + s.reason + ")" : s.outcome && s.outcome.summary ? " — " + s.outcome.summary : ""))))));
  let form = null;
  const pbs = (playbooks.items || []).filter(p => p.enabled);
  if (["analyst", "approver", "admin"].includes(state.role) && pbs.length && findings.length) {
    // Only the playbooks whose trigger selects the chosen finding are
    // offered, and none is chosen for the analyst.
    const fsel = el("select", { id: "run-finding", "aria-label": "finding" },
      el("option", { value: "", selected: "", disabled: "" }, "choose a finding"),
      findings.map(f => el("option", { value: f.id }, f.title + " · " + when(f.time))));
    const psel = el("select", { id: "run-playbook", "aria-label": "playbook", disabled: "" }, el("option", { value: "" }, "choose a finding first"));
    const note = el("input", { type: "text", id: "run-comment", placeholder: "why (for the audit trail)", "aria-label": "comment" });
    const go = el("button", { id: "run-request", disabled: "", onclick: async () => {
      if (!fsel.value || !psel.value) return;
      try {
        const r = await api("POST", "/v1/playbook-runs", { finding_id: fsel.value, playbook: psel.value, comment: note.value });
        const res = r.result || {};
        toast("Playbook " + res.playbook + ": " + res.status + (res.error ? " — " + res.error : ""));
      } catch (e) { toast(e.message); }
      refreshPending(); route();
    } }, "Request");
    psel.onchange = () => { go.disabled = !psel.value; };
    fsel.onchange = async () => {
      go.disabled = true;
      psel.disabled = true;
      psel.replaceChildren(el("option", { value: "" }, "…"));
      let fit = [];
      try { fit = (await api("GET", "/v1/playbooks?finding_id=" + encodeURIComponent(fsel.value))).items || []; } catch (e) { toast(e.message); }
      if (!fit.length) {
        psel.replaceChildren(el("option", { value: "" }, "no playbook applies to this finding"));
        return;
      }
      psel.replaceChildren(el("option", { value: "", selected: "", disabled: "" }, "choose a playbook"),
        fit.map(p => el("option", { value: p.name }, p.name + (p.needs_approval || playbooks.four_eyes ? " (approval)" : " (runs at once)"))));
      psel.disabled = false;
    };
    form = el("div", {}, el("h2", {}, "Run a playbook"),
      el("p", { class: "muted" }, playbooks.four_eyes ? "Four-eyes rule: another approver must approve what you ask for." : "Playbooks that need approval wait in the approval queue."),
      el("div", { class: "row2" }, fsel, psel), note, go);
  }
  if (!items.length && !form) return null;
  return el("div", { class: "card", id: "runs" }, el("h2", {}, "Playbook runs"),
    items.length ? el("ul", { class: "steps" }, items) : el("p", { class: "empty" }, "No playbook has run for this incident."), form);
}

// handleCard: close the incident, or declare its pattern a false positive.
function handleCard(i, findings) {
  if (i.status === "closed") {
    return el("div", { class: "card", id: "closed" }, el("p", {}, el("strong", {}, "Closed"), " by " + (i.closed_by || "—") + " at " + (when(i.closed) || "—") + (i.close_reason ? ": " + i.close_reason : "")));
  }
  if (!["analyst", "approver", "admin"].includes(state.role)) return null;
  const f = findings[0] || {};
  const parts = [];
  if (f.rule_id) parts.push('finding.rule_id == "' + f.rule_id + '"');
  if (f.actor && f.actor.arn) parts.push('finding.actor.arn == "' + f.actor.arn + '"');
  const reason = el("input", { type: "text", id: "close-reason", placeholder: "why: contained, benign, duplicate…", "aria-label": "reason" });
  const expr = el("textarea", { id: "suppress-expr", rows: "2", "aria-label": "pattern" });
  expr.value = parts.join(" && ");
  const sreason = el("input", { type: "text", id: "suppress-reason", placeholder: "why this pattern is not a threat", "aria-label": "suppression reason" });
  const days = el("input", { type: "number", id: "suppress-days", min: "1", max: "180", "aria-label": "days" });
  days.value = "30";
  return el("div", { class: "card" },
    el("h2", {}, "Close"), reason,
    el("button", { id: "close-incident", onclick: async () => {
      try { await api("POST", "/v1/incidents/" + encodeURIComponent(i.id) + "/close", { reason: reason.value }); toast("Incident closed"); route(); }
      catch (e) { toast(e.message); } } }, "Close incident"),
    el("h2", {}, "False positive: suppress this pattern"),
    el("p", { class: "muted" }, "A CEL condition over each new finding (finding.rule_id, finding.actor.arn, finding.src_ip, …). Matching findings are stored and counted, never filed or acted on."),
    expr, sreason, el("label", { class: "muted" }, "for days ", days),
    el("button", { id: "suppress", onclick: async () => {
      const expires = new Date(Date.now() + Number(days.value || 30) * 86400000).toISOString();
      try { await api("POST", "/v1/suppressions", { expr: expr.value, reason: sreason.value, expires }); toast("Suppressed until " + when(expires)); }
      catch (e) { toast(e.message); } } }, "Suppress"));
}

// explainValue: what a rule matched in a field; a match on null means the
// field is absent (not the text "null").
function explainValue(v) {
  if (v === null || v === "null") return " is not set";
  return v === undefined || v === "" ? "" : " = " + v;
}

// findingItem: what happened in words first (the finding's summary), then
// the rule's triage guide; what the rule matched stays available, folded.
function findingItem(f) {
  const ex = f.explanation || [];
  const triage = f.triage || [];
  const meta = [when(f.time), f.source, f.src_ip ? "from " + f.src_ip : "", f.count > 1 ? f.count + " events, " + when(f.first_seen) + " → " + when(f.last_seen) : ""].filter(Boolean).join(" · ");
  return el("div", { class: "event card", "data-finding": f.id, tabindex: "0", "aria-label": "finding: " + (f.summary || f.title),
    // Enter on the card opens (or folds) what the rule matched.
    onkeydown: ev => { if (ev.key === "Enter" && ev.target === ev.currentTarget) { ev.preventDefault(); const d = ev.currentTarget.querySelector("details.matched"); if (d) d.open = !d.open; } } },
    el("div", {}, level(f.level), " ", el("strong", {}, f.title), " ", el("span", { class: "muted" }, meta)),
    f.summary ? el("p", { class: "say" }, f.summary) : null,
    entityLinks(f),
    (f.attack && (f.attack.techniques || []).length) ? el("p", { class: "muted" }, "ATT&CK " + f.attack.techniques.join(", ")) : null,
    // The rule's triage guide: what to check, in order.
    triage.length ? el("div", { class: "triage" }, el("h2", {}, "Triage"), el("ol", {}, triage.map(s => el("li", {}, s)))) : null,
    ex.length ? el("details", { class: "matched" }, el("summary", {}, "Why the rule matched (" + ex.length + ")"), el("ul", { class: "why" }, ex.map(e =>
      el("li", {}, e.detail || ((e.selection ? e.selection + ": " : "") + (e.field || "") + explainValue(e.value)))))) : null,
    rawEvent(f));
}

// entityLink opens the timeline of a principal, an access key, an address
// or a resource.
function entityLink(kind, value, text) {
  return el("a", { href: "#/timeline/" + kind + "/" + encodeURIComponent(value), class: "entity", "data-kind": kind, title: "timeline of " + value }, text || value);
}

// entityLinks: the timelines of who did a finding's event, with which
// key, from where.
function entityLinks(f) {
  const a = f.actor || {};
  const links = [a.arn ? entityLink("principal", a.arn, "principal") : null, a.access_key_id ? entityLink("access_key", a.access_key_id, "key " + a.access_key_id) : null,
    f.src_ip ? entityLink("ip", f.src_ip, "address " + f.src_ip) : null].filter(Boolean);
  if (!links.length) return null;
  return el("p", { class: "muted entities" }, "Timeline: ", links.flatMap((l, i) => [i ? " · " : "", l]));
}

// noNull leaves out the empty (null) fields of a record shown as JSON.
function noNull(k, v) { return v === null ? undefined : v; }

// rawEvent shows the native record behind a finding, fetched when opened.
function rawEvent(f) {
  const ids = f.event_ids || [];
  const pre = el("pre", {}, "…");
  const d = el("details", { ontoggle: async () => {
    if (!d.open || pre.dataset.loaded) return;
    pre.dataset.loaded = "1";
    try { pre.textContent = JSON.stringify(await api("GET", "/v1/events/" + encodeURIComponent(ids[0] || "")), noNull, 2); }
    catch (e) { pre.textContent = JSON.stringify(f, noNull, 2); }
  } }, el("summary", {}, "Raw event" + (ids.length > 1 ? "s" : "") + " (", idList(ids), ")"), pre);
  return d;
}

// idList shows the first few of a long list of ids and a "+N more" that
// expands to the rest.
function idList(ids, first = 3, href) {
  ids = (ids || []).filter(x => x !== null && x !== undefined && x !== "");
  const item = (x, i) => [i ? ", " : "", href ? el("a", { href: href(x) }, x) : x];
  if (ids.length <= first + 1) return el("span", { class: "ids" }, ids.flatMap(item));
  const rest = el("span", { hidden: "" }, ids.slice(first).flatMap((x, i) => item(x, i + 1)));
  const more = el("button", { class: "more", type: "button", "aria-expanded": "false", onclick: () => { rest.hidden = false; more.remove(); } }, "+" + (ids.length - first) + " more");
  return el("span", { class: "ids" }, ids.slice(0, first).flatMap(item), rest, " ", more);
}

// left says how long until an instant: "12m 05s", or "" once it passed.
function left(t) {
  const ms = new Date(t).getTime() - Date.now();
  if (!(ms > 0)) return "";
  const s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  const pad = n => String(n).padStart(2, "0");
  return d ? d + "d " + h + "h" : h ? h + "h " + pad(m) + "m" : m + "m " + pad(s % 60) + "s";
}

function countdownText(a) {
  const then = a.on_timeout === "approve" ? "it is approved and runs" : "it is denied";
  const l = left(a.expires);
  return l ? "Expires in " + l + " (" + when(a.expires) + "); then " + then + "."
    : "Expired at " + when(a.expires) + "; " + then + " at the next check.";
}

// The countdowns tick while their page is open.
setInterval(() => {
  document.querySelectorAll("[data-countdown]").forEach(e => {
    const a = e.__approval;
    if (a) e.textContent = countdownText(a);
  });
}, 1000);

function callText(c) {
  const input = c.input && Object.keys(c.input).length ? " " + JSON.stringify(c.input) : "";
  return (c.service || "") + " " + (c.operation || "") + input;
}

function approvalList(items, selectable) {
  const canDecide = ["approver", "admin"].includes(state.role);
  return el("ul", { class: "approvals" }, items.map(a => {
    const inc = a.incident;
    const pending = a.status === "pending";
    const cd = pending ? el("p", { class: "countdown", "data-countdown": a.id }, countdownText(a)) : null;
    if (cd) cd.__approval = a;
    const asked = a.requested_by && a.requested_by !== "parapet" ? a.requested_by : "parapet (automatic, from the playbook trigger)";
    // The item takes focus; Enter opens its incident (the link inside does too).
    return el("li", { class: "approval card", "data-approval": a.id, tabindex: "0", "aria-label": "approval: " + a.playbook + (inc ? " for " + (inc.title || inc.id) : ""),
      onkeydown: ev => { if (ev.key === "Enter" && ev.target === ev.currentTarget && inc) { ev.preventDefault(); location.hash = "#/incident/" + encodeURIComponent(inc.id); } } },
      el("div", { class: "approval-head" },
        selectable && pending && canDecide ? el("input", { type: "checkbox", class: "pick", "data-pick": a.id, "aria-label": "select " + a.playbook,
          checked: state.picks.has(a.id) ? "" : undefined, onchange: ev => { if (ev.target.checked) state.picks.add(a.id); else state.picks.delete(a.id); } }) : null,
        el("strong", {}, a.playbook), " ", el("span", { class: "status run-" + (a.status === "approved" ? "executed" : a.status === "pending" ? "pending-approval" : "denied") }, a.status),
        a.repeats > 1 ? el("span", { class: "badge repeats", "data-repeats": a.repeats, title: "like requests folded into this approval" }, "×" + a.repeats + " requests") : null),
      inc ? el("p", { class: "incident-ref" }, el("span", { class: "risk", style: "background:" + riskColor(inc.risk) }, Math.round(inc.risk)), " ",
        el("a", { href: "#/incident/" + encodeURIComponent(inc.id), "data-incident": inc.id }, inc.title || inc.id),
        inc.status === "closed" ? el("span", { class: "muted" }, " · closed") : null,
        inc.summary ? el("span", { class: "muted story" }, el("br"), inc.summary) : null)
        : el("p", { class: "muted" }, "Finding " + a.finding_id + " (in no incident)"),
      el("p", { class: "muted" }, "Asked by " + asked + " · " + when(a.created) +
        ((a.approvers || []).length ? " · approvers: " + a.approvers.join(", ") : "")),
      a.repeats > 1 && (a.folded_findings || []).length ? el("p", { class: "muted" }, "Also asked for findings: ", idList(a.folded_findings)) : null,
      el("ol", { class: "plan" }, (a.steps || []).map(st => el("li", {},
        el("code", {}, st.action), " on ", el("strong", {}, st.target || "—"), st.region ? el("span", { class: "muted" }, " (" + st.region + ")") : null,
        (st.calls || []).length ? el("ul", { class: "calls" }, st.calls.map(c => el("li", {}, el("code", {}, callText(c))))) : null,
        st.before_why || st.before ? el("details", { class: "before", "data-before": st.target || st.action },
          el("summary", {}, "Before: " + (st.before_why || "state read") + (st.read_at ? " (read " + when(st.read_at) + ")" : "")),
          st.before ? el("pre", {}, JSON.stringify(st.before, null, 2)) : null) : null))),
      cd,
      !pending ? el("p", { class: "muted" }, (a.decided_by ? "Decided by " + a.decided_by : a.status === "expired" ? "Expired" : "Decided") +
        (a.comment ? ": “" + a.comment + "”" : "")) : null,
      pending && canDecide ? el("div", {},
        el("input", { type: "text", "data-comment": a.id, placeholder: "a comment for the audit trail (who confirmed what)", "aria-label": "comment" }),
        el("button", { class: "primary", "data-approve": a.id, onclick: () => decide(a.id, true) }, "Approve and run"), " ",
        el("button", { class: "danger", "data-deny": a.id, onclick: () => decide(a.id, false) }, "Deny")) : null);
  }));
}

// decisions are the results of this session's latest decisions: they stay
// on the approvals page until the next decision.
state.decisions = [];
// picks and bulkComment: the selection and its comment survive the live
// updates that redraw the page.
state.picks = new Set();
state.bulkComment = "";

async function decideOne(id, approve, comment) {
  try {
    const r = await api("POST", "/v1/approvals/" + encodeURIComponent(id) + (approve ? "/approve" : "/deny"), { comment });
    const res = r.result || {};
    const steps = (res.Steps || res.steps || []).map(s => (s.Action || s.action) + ": " + (s.Status || s.status)).join(", ");
    return { id, ok: !r.error, text: (approve ? "Approved: " : "Denied: ") + (res.Status || res.status || "") + (steps ? " — " + steps : "") + (r.error ? " (" + r.error + ")" : "") };
  } catch (e) {
    return { id, ok: false, text: (approve ? "Not approved: " : "Not denied: ") + e.message };
  }
}

async function decide(id, approve) {
  const box = document.querySelector('input[data-comment="' + CSS.escape(id) + '"]');
  const d = await decideOne(id, approve, box ? box.value : "");
  state.decisions = [d];
  toast(d.text);
  refreshPending();
  route();
}

// decideSelected approves or denies every selected approval with one
// comment: one call each, so each keeps its own role and four-eyes checks.
async function decideSelected(approve) {
  const ids = [...document.querySelectorAll("input[data-pick]")].map(b => b.dataset.pick).filter(id => state.picks.has(id));
  if (!ids.length) { toast("Select the approvals to decide first."); return; }
  const comment = state.bulkComment;
  document.querySelectorAll("#bulk button").forEach(b => { b.disabled = true; });
  const out = [];
  for (const id of ids) out.push(await decideOne(id, approve, comment));
  state.decisions = out;
  state.picks.clear();
  state.bulkComment = "";
  const failed = out.filter(d => !d.ok).length;
  toast((approve ? "Approved " : "Denied ") + (out.length - failed) + " of " + out.length + (failed ? " (" + failed + " failed: see the results)" : ""));
  refreshPending();
  route();
}

function toast(msg) {
  const t = el("div", { class: "card", id: "toast", role: "status" }, msg);
  const old = $("#toast"); if (old) old.remove();
  $("#main").prepend(t);
  setTimeout(() => t.remove(), 8000);
}

async function approvalsView(v) {
  const pending = (await api("GET", "/v1/approvals?status=pending")).items || [];
  const done = ((await api("GET", "/v1/approvals")).items || []).filter(a => a.status !== "pending").slice(-50).reverse();
  const canDecide = ["approver", "admin"].includes(state.role);
  let bulk = null;
  if (canDecide && pending.length) {
    const all = el("input", { type: "checkbox", id: "pick-all", "aria-label": "select all waiting approvals", onchange: () => {
      document.querySelectorAll("input[data-pick]").forEach(b => { b.checked = all.checked; if (all.checked) state.picks.add(b.dataset.pick); else state.picks.delete(b.dataset.pick); });
    } });
    const comment = el("input", { type: "text", id: "bulk-comment", placeholder: "one comment for the selected approvals (audit trail)", "aria-label": "comment for the selected approvals",
      oninput: () => { state.bulkComment = comment.value; } });
    comment.value = state.bulkComment;
    bulk = el("div", { id: "bulk", class: "bulk" },
      el("label", { class: "muted" }, all, " all"),
      comment,
      el("button", { class: "primary", id: "bulk-approve", onclick: () => decideSelected(true) }, "Approve selected"),
      el("button", { class: "danger", id: "bulk-deny", onclick: () => decideSelected(false) }, "Deny selected"));
  }
  const results = state.decisions.length ? el("div", { class: "card", id: "decisions", role: "status" }, el("h2", {}, "Latest decisions"),
    el("ul", { class: "steps" }, state.decisions.map(d => el("li", { class: d.ok ? "" : "bad", "data-decision": d.id }, d.id + ": " + d.text)))) : null;
  show(v, el("h1", { id: "approvals-title" }, "Approvals"), results,
    el("div", { class: "card", id: "waiting" }, el("h2", {}, "Waiting (" + pending.length + ")"), bulk,
      pending.length ? approvalList(pending, true) : el("p", { class: "empty" }, "Nothing waits for a decision.")),
    el("div", { class: "card", id: "decided" }, el("h2", {}, "Decided"), done.length ? approvalList(done) : el("p", { class: "empty" }, "None yet.")));
}

async function overviewView(v) {
  const s = await api("GET", "/v1/stats");
  const sups = (await api("GET", "/v1/suppressions")).items || [];
  const secs = x => x >= 3600 ? (x / 3600).toFixed(1) + " h" : x >= 60 ? (x / 60).toFixed(1) + " min" : x.toFixed(1) + " s";
  const levels = ["critical", "high", "medium", "low", "informational"];
  const max = Math.max(1, ...levels.map(l => s.findings_by_level[l] || 0));
  // MTTD runs from each event's own time: replayed or late-delivered
  // records (the demo replays last week's) count their age.
  const mttdNote = "MTTD is measured from each event's own time to its finding. Replayed or backfilled records (the demo replays last week's telemetry) count their age, so MTTD then shows how old they were, not how fast Parapet detects.";
  show(v, el("h1", {}, "Overview"), scopeNote("these figures cover its findings, their incidents, approvals and runs; suppressions are every account's."),
    el("div", { class: "stats" },
      stat(s.incidents, "incidents"), stat(s.findings, "findings"),
      stat(Math.round(100 * s.alert_reduction) + "%", "alert reduction (findings → incidents)"),
      stat(s.mttd_samples ? secs(s.mttd_seconds) : "–", "MTTD: event → finding (median)", mttdNote),
      stat(s.mttr_samples ? secs(s.mttr_seconds) : "–", "MTTR: finding → remediated or closed (median)"),
      stat(s.pending_approvals, "approvals waiting")),
    el("div", { class: "card", id: "trends" }, el("h2", {}, "Last 14 days"),
      el("div", { class: "charts" },
        chart("Findings and incidents per day", s.daily || [], [["findings", "var(--medium)"], ["incidents", "var(--accent)"]], x => String(Math.round(x)), "count / day"),
        chart("Alert reduction per day", s.daily || [], [["alert_reduction", "var(--ok)"]], x => Math.round(100 * x) + "%", "% folded"),
        chart("MTTD per day (median)", s.daily || [], [["mttd_seconds", "var(--high)"]], secs, "median time"),
        chart("MTTR per day (median)", s.daily || [], [["mttr_seconds", "var(--low)"]], secs, "median time")),
      el("p", { class: "muted axis-note" }, mttdNote)),
    el("div", { class: "card" }, el("h2", {}, "Findings by level"),
      el("p", { class: "muted axis-note" }, "Bar length: number of findings stored at each level (count, all time)."),
      el("div", { class: "bars", id: "by-level" }, levels.map(l =>
      el("div", { class: "bar" }, el("span", { class: "k" }, l), el("span", { class: "b lv-" + l, style: "width:" + (240 * (s.findings_by_level[l] || 0) / max) + "px" }), el("span", {}, (s.findings_by_level[l] || 0) + " findings"))))),
    el("div", { class: "card" }, el("h2", {}, "Suppressions"), sups.length ? el("table", { id: "suppressions" },
      el("thead", {}, el("tr", {}, ["Pattern", "Reason", "By", "Until", ""].map(h => el("th", {}, h)))),
      el("tbody", {}, sups.map(x => el("tr", {}, el("td", {}, el("code", {}, x.expr)), el("td", {}, x.reason), el("td", {}, x.created_by), el("td", { class: "muted" }, when(x.expires)),
        el("td", {}, ["analyst", "approver", "admin"].includes(state.role) ? el("button", { onclick: async () => { const why = prompt("Why end this suppression? (recorded in the audit trail)"); if (!why) return; try { await api("DELETE", "/v1/suppressions/" + encodeURIComponent(x.id) + "?reason=" + encodeURIComponent(why)); route(); } catch (e) { toast(e.message); } } }, "End") : null)))))
      : el("p", { class: "empty" }, "No pattern is suppressed.")));
}

// loc is a result's location: file:line:column, or the ARN.
function loc(l) {
  if (!l) return "";
  if (!l.file) return l.arn || "";
  return l.file + ":" + l.start_line + (l.column ? ":" + l.column : "");
}

// postureView: each target's latest scan — what fails first, worst first,
// each with its fix; then the score per framework and its trend, the
// failing controls, and the checks that pass. With a check id
// (#/posture/PARAPET-S3-003) only that check's failures are listed.
async function postureView(v, only) {
  const p = await api("GET", "/v1/posture");
  const targets = p.targets || [];
  const scanBtn = ["analyst", "approver", "admin"].includes(state.role) ? el("button", { id: "scan-now", onclick: async () => {
    try { await api("POST", "/v1/posture/scan"); toast("Scan queued"); } catch (e) { toast(e.message); } } }, "Scan now") : null;
  if (!targets.length) {
    show(v, el("h1", {}, "Posture"), el("p", { class: "empty" }, "No posture scan yet: configure posture.iac, posture.config or posture.aws."), scanBtn);
    return;
  }
  const openCheck = id => { location.hash = "#/posture/" + encodeURIComponent(id); };
  show(v, el("h1", { id: "posture-title" }, "Posture"), scopeNote("only its results are listed and counted; framework scores and trends are the whole target's."), scanBtn,
    only ? el("p", { id: "posture-only" }, "Showing the failures of " + only + " · ", el("a", { href: "#/posture" }, "show every check")) : null,
    ...targets.map(t => {
    const trend = (p.trend || []).filter(x => x.target === t.target);
    const failures = (t.failures || []).filter(r => !only || r.check_id === only);
    const passing = t.passing || [];
    return el("div", { class: "card" },
      el("h2", {}, t.target), el("p", { class: "muted" }, "scanned " + when(t.at) + " · " + t.resources + " resources · " + t.passed + " passed · " + t.failed + " failed · " + t.unknown + " unknown · " + t.suppressed + " suppressed"),
      // Against the previous scan of this target: what is new, fixed, still failing.
      el("p", { class: "lifecycle" }, t.lifecycle
        ? "Since the previous scan: " + t.lifecycle.new + " new · " + t.lifecycle.fixed + " fixed · " + t.lifecycle.still_failing + " still failing"
        : "First scan of this target: nothing to compare with yet."),
      // What fails, the worst first, each with its fix.
      el("h3", { class: "section-title" }, "Failed checks (" + failures.length + ") — fix these first"),
      failures.length ? el("table", { class: "failures" }, el("thead", {}, el("tr", {}, ["Severity", "Problem", "Resource", "Fix"].map(h => el("th", {}, h)))),
        el("tbody", {}, failures.slice(0, 200).map((r, i) => el("tr", { class: "row", tabindex: "0", "data-check": r.check_id, "aria-label": "failed check: " + r.title, hidden: i >= 25 && !only ? "" : null,
          onclick: ev => { if (!ev.target.closest("a, pre")) openCheck(r.check_id); },
          onkeydown: ev => { if (ev.key === "Enter" && ev.target === ev.currentTarget) { ev.preventDefault(); openCheck(r.check_id); } } },
          el("td", {}, level(r.severity)),
          el("td", {}, el("a", { href: "#/posture/" + encodeURIComponent(r.check_id), tabindex: "-1" }, el("strong", {}, r.title)), el("div", { class: "muted" }, r.check_id)),
          el("td", {}, el("code", {}, r.resource.address || r.resource.arn || r.resource.name), r.baseline === "new" ? el("span", { class: "badge new" }, " new") : null,
            el("div", { class: "muted" }, loc(r.location) + (r.attribute ? " (" + r.attribute + ")" : ""))),
          el("td", {}, r.remediation || "", r.iac_fix ? el("pre", {}, r.iac_fix) : null)))))
        : el("p", { class: "empty" }, "No check fails."),
      // The worst 25 first; the rest (up to 200) on request.
      failures.length > 25 && !only ? el("button", { class: "more-failures", type: "button", onclick: ev => {
        ev.currentTarget.closest(".card").querySelectorAll("table.failures tr[hidden]").forEach(r => { r.hidden = false; });
        ev.currentTarget.remove(); } }, "Show all " + Math.min(failures.length, 200) + " failed checks" + (failures.length > 200 ? " (of " + failures.length + ")" : "")) : null,
      t.lifecycle && (t.lifecycle.fixed_results || []).length ? el("details", { class: "section" }, el("summary", {}, "Fixed since the previous scan (" + t.lifecycle.fixed_results.length + ")"),
        el("table", { class: "fixed" }, el("tbody", {}, t.lifecycle.fixed_results.slice(0, 200).map(f => el("tr", {}, el("td", {}, level(f.severity)), el("td", {}, el("strong", {}, f.title || ""), el("div", { class: "muted" }, f.check_id)),
          el("td", {}, el("code", {}, f.resource.address || f.resource.arn || f.resource.name)), el("td", { class: "muted" }, loc(f.location))))))) : null,
      el("h3", { class: "section-title" }, "Frameworks"),
      el("p", { class: "muted axis-note" }, "Bar: share of each framework's evaluated controls that pass (0–100 %). Line: that score over the last " + trend.length + " scans, oldest on the left (y: 0–100 %)."),
      el("div", { class: "bars" }, (t.frameworks || []).map(f => el("div", { class: "bar" },
        el("span", { class: "k", title: f.note || null }, f.id),
        el("span", { class: "b", style: "width:" + (1.5 * f.score_percent) + "px;background:" + (f.score_percent >= 90 ? "var(--ok)" : f.score_percent >= 60 ? "var(--medium)" : "var(--critical)") }),
        el("span", {}, Math.round(f.score_percent) + " % · " + f.controls_passed + "/" + f.controls_evaluated + " controls"),
        sparkline(trend.map(x => (x.scores || {})[f.id] || 0), f.id + " score (%) over the last " + trend.length + " scans: " + trend.map(x => Math.round((x.scores || {})[f.id] || 0) + "%").join(" → "))))),
      el("details", { class: "section" }, el("summary", {}, "Failing controls"),
      el("table", { class: "controls" }, el("thead", {}, el("tr", {}, ["Framework", "Control", "Title", "Checks"].map(h => el("th", {}, h)))),
        el("tbody", {}, (t.frameworks || []).flatMap(f => (f.controls || []).filter(c => c.status === "fail").map(c =>
          el("tr", {}, el("td", {}, f.id), el("td", {}, c.id), el("td", {}, c.title, c.note ? el("div", { class: "muted" }, c.note) : null), el("td", {}, el("code", {}, (c.checks || []).join(", "))))))))),
      el("details", { class: "section", id: "passing" }, el("summary", {}, "Passing checks (" + passing.length + ")"),
        passing.length ? el("table", { class: "passing" }, el("thead", {}, el("tr", {}, ["Severity", "Check", "Resources"].map(h => el("th", {}, h)))),
          el("tbody", {}, passing.map(c => el("tr", {}, el("td", {}, level(c.severity)), el("td", {}, c.title, el("div", { class: "muted" }, c.check_id)), el("td", {}, c.resources)))))
          : el("p", { class: "empty" }, "No check passes yet.")));
  }));
}

// orgView: the AWS Organization from the latest organization scan — the
// score of one framework rolled up by OU and by account, the coverage
// matrix of GuardDuty, Security Hub, Config and CloudTrail (gaps
// highlighted), the SCPs and the delegated administrators; filtered by
// account and OU (GET /v1/org?account=&ou=).
const orgFilter = { account: "", ou: "", framework: "" };
async function orgView(v) {
  const all = await api("GET", "/v1/org");
  if (!all.at) {
    show(v, el("h1", { id: "org-title" }, "Organization"), el("p", { class: "empty" }, "No organization scan yet: configure organization (role, accounts) with posture.aws."));
    return;
  }
  const params = new URLSearchParams();
  if (orgFilter.account) params.set("account", orgFilter.account);
  if (orgFilter.ou) params.set("ou", orgFilter.ou);
  const o = params.toString() ? await api("GET", "/v1/org?" + params) : all;
  const fws = [...new Set((all.accounts || []).flatMap(a => Object.keys(a.scores || {})))].sort();
  if (!fws.includes(orgFilter.framework)) orgFilter.framework = fws.includes("cis-aws-3.0") ? "cis-aws-3.0" : (fws[0] || "");
  const fw = orgFilter.framework;
  const pick = (id, label, value, options, set) => {
    const s = el("select", { id, "aria-label": label, onchange: () => { set(s.value); route(); } }, options.map(([val, text]) => el("option", { value: val }, text)));
    s.value = value;
    return s;
  };
  const ouSel = pick("org-ou", "OU", orgFilter.ou, [["", "Every OU"]].concat((all.ous || []).map(x => [x.ou, x.ou])), x => { orgFilter.ou = x; });
  const acctSel = pick("org-account", "account", orgFilter.account, [["", "Every account"]].concat((all.accounts || []).map(a => [a.account, a.account + (a.name ? " · " + a.name : "")])), x => { orgFilter.account = x; });
  const fwSel = pick("org-framework", "framework", fw, fws.map(f => [f, f]), x => { orgFilter.framework = x; });
  const score = m => {
    const x = (m || {})[fw];
    if (x === undefined) return el("span", { class: "muted" }, "—");
    return el("span", { class: "score" }, el("span", { class: "b", style: "width:" + Math.round(0.8 * x) + "px;background:" + (x >= 90 ? "var(--ok)" : x >= 60 ? "var(--medium)" : "var(--critical)") }), Math.round(x) + " %");
  };
  const mark = { covered: "yes", not_covered: "NO", unknown: "?" };
  // The matrix: a row per account and region, a column per service.
  const rows = [], byRow = {};
  for (const c of o.coverage || []) {
    const k = c.account + " " + c.region;
    if (!byRow[k]) { byRow[k] = { account: c.account, ou: c.ou, region: c.region, cells: {} }; rows.push(byRow[k]); }
    byRow[k].cells[c.service] = c;
  }
  const services = o.services || [];
  show(v, el("h1", { id: "org-title" }, "Organization"),
    el("p", { class: "muted" }, "scanned " + when(o.at) + " · " + (o.accounts || []).length + " accounts · " + (o.regions || []).join(", ") + " · " + (o.gaps || []).filter(c => c.status === "not_covered").length + " coverage gaps · " + (o.gaps || []).filter(c => c.status === "unknown").length + " cells not read"),
    el("div", { class: "filters org-filters" }, ouSel, acctSel, fwSel),
    (o.errors || []).length ? el("div", { class: "card" }, el("h2", {}, "Not read"), el("ul", {}, o.errors.map(e => el("li", { class: "error" }, e)))) : null,
    el("div", { class: "card" }, el("h2", {}, "By OU"),
      el("p", { class: "muted axis-note" }, fw + ": share of evaluated controls that pass; an OU is the mean of its accounts (with the OUs below it)."),
      el("table", { id: "org-ous" }, el("thead", {}, el("tr", {}, ["OU", "Accounts", "Score", "Failed checks"].map(h => el("th", {}, h)))),
        el("tbody", {}, (o.ous || []).map(x => el("tr", { "data-ou": x.ou }, el("td", {}, el("a", { href: "#/org", onclick: ev => { ev.preventDefault(); orgFilter.ou = x.ou; route(); } }, x.ou)),
          el("td", {}, x.accounts), el("td", {}, score(x.scores)), el("td", {}, x.failed)))))),
    el("div", { class: "card" }, el("h2", {}, "By account"),
      (o.accounts || []).length ? el("table", { id: "org-accounts" }, el("thead", {}, el("tr", {}, ["Account", "OU", "Score", "Failed", "Coverage gaps"].map(h => el("th", {}, h)))),
        el("tbody", {}, o.accounts.map(a => el("tr", { "data-account": a.account }, el("td", {}, el("strong", {}, a.account), a.name ? el("div", { class: "muted" }, a.name) : null),
          el("td", {}, a.ou || "—"), el("td", {}, score(a.scores)), el("td", {}, a.failed),
          el("td", { class: a.gaps ? "gap" : null }, a.gaps + (a.unknown_cells ? " · " + a.unknown_cells + " unknown" : ""))))))
        : el("p", { class: "empty", id: "org-none" }, "No account matches this filter.")),
    el("div", { class: "card" }, el("h2", {}, "Coverage"),
      el("p", { class: "muted axis-note" }, "yes: on in the account and region · NO: a gap · ?: could not be read (hover for why)."),
      el("table", { id: "org-coverage" }, el("thead", {}, el("tr", {}, ["Account", "Region"].concat(services).map(h => el("th", {}, h)))),
        el("tbody", {}, rows.map(r => el("tr", { "data-account": r.account, "data-region": r.region }, el("td", {}, r.account, el("div", { class: "muted" }, r.ou || "")), el("td", {}, r.region),
          services.map(s => { const c = r.cells[s] || { status: "unknown" };
            return el("td", { class: "cov cov-" + c.status, "data-service": s, title: c.error || c.detail || null }, mark[c.status] || "?"); })))))),
    el("div", { class: "card" }, el("h2", {}, "Service control policies"),
      (o.scps || []).length ? el("table", { id: "org-scps" }, el("thead", {}, el("tr", {}, ["Policy", "Attached to"].map(h => el("th", {}, h)))),
        el("tbody", {}, o.scps.map(p => el("tr", {}, el("td", {}, el("strong", {}, p.name), el("div", { class: "muted" }, p.id + (p.aws_managed ? " · AWS managed" : ""))),
          el("td", {}, (p.targets || []).length ? p.targets.map(t => el("div", {}, t.name + " ", el("span", { class: "muted" }, t.type.toLowerCase().replace(/_/g, " ") + " " + t.id))) : el("span", { class: "muted" }, "not attached"))))))
        : el("p", { class: "empty" }, "No SCP read.")),
    el("div", { class: "card" }, el("h2", {}, "Delegated administrators"),
      (o.delegated_admins || []).length ? el("table", { id: "org-delegated" }, el("tbody", {}, o.delegated_admins.map(d => el("tr", {}, el("td", {}, el("strong", {}, d.account), d.name ? el("div", { class: "muted" }, d.name) : null),
        el("td", {}, (d.services || []).join(", "))))))
        : el("p", { class: "empty" }, "No service has a delegated administrator.")));
}

// pathsView: every principal that can become an administrator (the paths
// serve was given in detect.paths), shortest first; the selected one's
// path drawn left to right, each arrow its step, and the steps in words.
async function pathsView(v, selected) {
  const p = await api("GET", "/v1/paths");
  const paths = (p.paths || []).filter(x => (x.steps || []).length > 0);
  if (!paths.length) {
    show(v, el("h1", {}, "Paths"), el("p", { class: "empty" }, p.source
      ? "No principal can become " + (p.target || "admin") + " in " + p.source + "."
      : "No paths: set detect.paths to the JSON of 'parapet paths --format json'."));
    return;
  }
  const sel = paths.find(x => x.source === selected) || paths[0];
  const open = src => { location.hash = "#/paths/" + encodeURIComponent(src); };
  show(v, el("h1", { id: "paths-title" }, "Paths to " + (p.target || "admin")),
    el("p", { class: "muted" }, paths.length + " principals can become " + (p.target || "admin") + (p.account ? " in account " + p.account : "") + " · from " + p.source +
      " · a call that takes a step of one of these paths is a finding"),
    el("div", { class: "card" },
      el("table", { class: "paths" }, el("thead", {}, el("tr", {}, ["Source", "Steps", "Target", "First step"].map(h => el("th", {}, h)))),
        el("tbody", {}, paths.map(x => el("tr", { class: "row" + (x === sel ? " selected" : ""), tabindex: "0", "data-source": x.source, "aria-label": "path from " + x.source_name,
          onclick: () => open(x.source), onkeydown: ev => { if (ev.key === "Enter") open(x.source); } },
          el("td", {}, el("strong", {}, x.source_name), el("div", { class: "muted" }, x.source_kind + " · " + x.source)),
          el("td", {}, String(x.steps.length)),
          el("td", {}, x.target_name),
          el("td", {}, x.steps[0].title, el("div", { class: "muted" }, x.steps[0].method))))))),
    el("div", { class: "card", id: "path-detail" },
      el("h2", {}, sel.source_kind + " " + sel.source_name + " → " + sel.target_name + " (" + sel.steps.length + (sel.steps.length === 1 ? " step)" : " steps)")),
      pathGraph(sel),
      el("ol", { class: "path-steps" }, sel.steps.map(s => el("li", {}, s.text)))));
}

// pathGraph draws a path as an inline SVG: a box per principal, left to
// right, an arrow per step labelled with its method and actions.
function pathGraph(p) {
  const ns = "http://www.w3.org/2000/svg", W = 170, H = 54, G = 170, top = 28;
  const boxes = [{ name: p.source_name, kind: p.source_kind }].concat(p.steps.map(s => ({ name: s.to_name, kind: s.to === "admin" ? "admin" : (s.to.match(/:(user|role|group)\//) || [, ""])[1] })));
  const width = boxes.length * (W + G) - G + 20;
  const mk = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const clip = (s, n) => (s || "").length > n ? s.slice(0, n - 1) + "…" : (s || "");
  // As wide as the page allows, never wider than drawn: it scales down
  // on a narrow screen.
  const svg = mk("svg", { class: "path-graph", width: "100%", viewBox: "0 0 " + width + " " + (H + 2 * top), role: "img", "aria-label": "path from " + p.source_name + " to " + p.target_name });
  svg.style.maxWidth = width + "px";
  const defs = mk("defs", {}), marker = mk("marker", { id: "path-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto" });
  marker.append(mk("path", { d: "M0,0 L10,5 L0,10 z", fill: "currentColor" })); defs.append(marker); svg.append(defs);
  boxes.forEach((b, i) => {
    const x = 10 + i * (W + G);
    const g = mk("g", { class: "node" + (i === boxes.length - 1 ? " target" : "") });
    g.append(mk("rect", { x, y: top, width: W, height: H, rx: 6 }), mk("text", { x: x + W / 2, y: top + 23, "text-anchor": "middle", class: "name" }, clip(b.name, 24)),
      mk("text", { x: x + W / 2, y: top + 41, "text-anchor": "middle", class: "kind" }, b.kind));
    svg.append(g);
    if (i < p.steps.length) {
      const s = p.steps[i], x1 = x + W, x2 = x + W + G, y = top + H / 2;
      const e = mk("g", { class: "edge" });
      e.append(mk("line", { x1, y1: y, x2, y2: y, "marker-end": "url(#path-arrow)" }),
        mk("text", { x: (x1 + x2) / 2, y: y - 8, "text-anchor": "middle" }, (i + 1) + ". " + clip(s.method, 22)),
        mk("text", { x: (x1 + x2) / 2, y: y + 16, "text-anchor": "middle", class: "acts" }, clip((s.grants || []).map(g => g.action).join(", "), 26)),
        mk("title", {}, s.text));
      svg.append(e);
    }
  });
  return el("div", { class: "graph" }, svg);
}

// chart draws daily bars of one or two series as an inline SVG, built node
// by node, with its axes labelled: days (UTC) on x, the series' unit on y
// with 0 and the top value marked; each bar's title holds the day and the
// value.
function chart(title, days, series, fmt, yLabel) {
  const ns = "http://www.w3.org/2000/svg";
  const L = 58, W = 290, H = 90, B = 30, n = Math.max(1, days.length), bw = (W - L) / n;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", String(W)); svg.setAttribute("height", String(H + B)); svg.setAttribute("viewBox", "0 0 " + W + " " + (H + B));
  svg.setAttribute("role", "img"); svg.setAttribute("aria-label", title + ": y " + yLabel + ", x day (UTC)");
  const text = (x, y, s, anchor, extra) => {
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", String(x)); t.setAttribute("y", String(y)); t.setAttribute("fill", "#98a1b3"); t.setAttribute("font-size", "10");
    if (anchor) t.setAttribute("text-anchor", anchor);
    if (extra) for (const [k, v] of Object.entries(extra)) t.setAttribute(k, v);
    t.textContent = s; svg.append(t);
  };
  const line = (x1, y1, x2, y2) => {
    const l = document.createElementNS(ns, "line");
    l.setAttribute("x1", String(x1)); l.setAttribute("y1", String(y1)); l.setAttribute("x2", String(x2)); l.setAttribute("y2", String(y2));
    l.setAttribute("stroke", "#283041"); svg.append(l);
  };
  const max = Math.max(1e-9, ...days.flatMap(d => series.map(([k]) => d[k] || 0)));
  line(L, 0, L, H); line(L, H, W, H);
  text(L - 4, 10, fmt(max === 1e-9 ? 0 : max), "end");
  text(L - 4, H, fmt(0), "end");
  text(9, H / 2, yLabel, "middle", { transform: "rotate(-90 9 " + (H / 2) + ")", class: "y-label" });
  days.forEach((d, i) => {
    series.forEach(([k, color], j) => {
      const v = d[k] || 0, h = v > 0 ? Math.max(2, (H - 4) * v / max) : 0;
      const r = document.createElementNS(ns, "rect");
      const w = (bw - 3) / series.length;
      r.setAttribute("x", (L + i * bw + 1 + j * w).toFixed(1)); r.setAttribute("y", (H - h).toFixed(1));
      r.setAttribute("width", w.toFixed(1)); r.setAttribute("height", h.toFixed(1)); r.setAttribute("fill", color);
      const t = document.createElementNS(ns, "title"); t.textContent = d.day + " · " + k.replace(/_/g, " ") + ": " + fmt(v);
      r.append(t); svg.append(r);
    });
  });
  if (days.length) {
    text(L, H + 12, days[0].day.slice(5), "start");
    text(W, H + 12, days[days.length - 1].day.slice(5), "end");
  }
  text((L + W) / 2, H + 26, "day (UTC)", "middle", { class: "x-label" });
  const last = days.length ? days[days.length - 1] : {};
  const legend = series.length > 1 ? el("div", { class: "legend" }, series.map(([k, color]) => el("span", {}, el("i", { style: "background:" + color }), k.replace(/_/g, " ")))) : null;
  return el("div", { class: "chart" }, el("div", { class: "muted" }, title + (days.length ? " · today " + series.map(([k]) => fmt(last[k] || 0)).join(" / ") : "")), legend, svg);
}

// sparkline draws a score trend (0–100) as an inline SVG, built node by
// node (no markup strings).
function sparkline(values, title) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", "120"); svg.setAttribute("height", "24"); svg.setAttribute("viewBox", "0 0 120 24");
  if (title) {
    svg.setAttribute("role", "img"); svg.setAttribute("aria-label", title);
    const t = document.createElementNS(ns, "title"); t.textContent = title; svg.append(t);
  }
  if (values.length > 1) {
    const pts = values.map((v, i) => (i * 120 / (values.length - 1)).toFixed(1) + "," + (22 - v * 0.2).toFixed(1)).join(" ");
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", pts); line.setAttribute("fill", "none"); line.setAttribute("stroke", "#5b9dff"); line.setAttribute("stroke-width", "2");
    svg.append(line);
  }
  return svg;
}

function stat(n, label, note) {
  return el("div", { class: "card stat" }, el("div", { class: "n" }, n), el("div", { class: "l" }, label),
    note ? el("div", { class: "note", id: "mttd-note", title: note }, "Note: replayed records count their age (the demo replays last week’s)") : null);
}

async function auditView(v) {
  const a = await api("GET", "/v1/audit?limit=200");
  const c = a.chain || {};
  show(v, el("h1", {}, "Audit trail"),
    el("div", { class: "card" }, c.intact ? el("p", { class: "ok", id: "chain" }, "Hash chain intact: " + c.records + " records, head " + (c.head || "").slice(0, 16) + "…" + (c.anchor ? " · anchored at record " + c.anchor.seq + " (" + when(c.anchor.time) + ")" : " · not anchored yet"))
      : el("p", { class: "bad", id: "chain" }, "Hash chain broken: " + (c.problem || ""))),
    el("div", { class: "card" }, el("table", {}, el("thead", {}, el("tr", {}, ["#", "Time", "Kind", "Actor", "Playbook / action", "Target"].map(h => el("th", {}, h)))),
      el("tbody", {}, (a.items || []).slice().reverse().map(r => {
        const x = r.record || {};
        return el("tr", {}, el("td", {}, r.seq), el("td", { class: "muted" }, when(x.time)), el("td", {}, x.kind), el("td", {}, x.actor),
          el("td", {}, [x.playbook, x.action].filter(Boolean).join(" / ")), el("td", { class: "muted" }, x.target || ""));
      })))));
}

// The timeline's range and page, kept while the analyst moves between
// pages; pages[i] is the cursor of page i (newest first).
const tl = { entity: "", since: "", until: "", pages: [""], paging: false };
const timelinePage = 25;
const entityKinds = [["principal", "Principal (ARN or id)"], ["access_key", "Access key"], ["ip", "IP address"], ["resource", "Resource ARN"]];

// dayAfter: the day after a YYYY-MM-DD date (the form's until is
// inclusive; the API's is excluded).
function dayAfter(d) {
  return new Date(new Date(d + "T00:00:00Z").getTime() + 86400000).toISOString().slice(0, 10);
}

// timelineView: everything one entity did (#/timeline/KIND/VALUE), newest
// first, a page at a time, from the lake.
async function timelineView(v, kind, value) {
  if (!entityKinds.some(k => k[0] === kind)) kind = "principal";
  // A link or the form starts at the newest page; only the pager moves.
  if (!tl.paging || tl.entity !== kind + "/" + value) Object.assign(tl, { entity: kind + "/" + value, pages: [""] });
  tl.paging = false;
  const kindSel = el("select", { id: "tl-kind", "aria-label": "entity kind" }, entityKinds.map(([k, l]) => el("option", { value: k }, l)));
  kindSel.value = kind;
  const val = el("input", { id: "tl-value", type: "search", placeholder: "arn:aws:iam::…, AKIA…, 203.0.113.7", "aria-label": "entity", required: "" });
  val.value = value;
  const since = el("input", { id: "tl-since", type: "date", "aria-label": "from (UTC)", title: "from (UTC; default: 30 days back)" });
  since.value = tl.since;
  const until = el("input", { id: "tl-until", type: "date", "aria-label": "to (UTC, inclusive)", title: "to (UTC, inclusive; default: now)" });
  until.value = tl.until;
  const form = el("form", { id: "tl-form", class: "filters tl-form", onsubmit: ev => {
    ev.preventDefault();
    Object.assign(tl, { since: since.value, until: until.value, entity: "", pages: [""] });
    const h = "#/timeline/" + kindSel.value + "/" + encodeURIComponent(val.value.trim());
    if (location.hash === h) route(); else location.hash = h;
  } }, kindSel, val, since, until, el("button", { type: "submit", class: "primary" }, "Show"));
  const intro = el("p", { class: "muted" }, "Everything a principal, an access key, an address or a resource did, across sources, newest first — read from the lake.");
  if (!value) { show(v, el("h1", {}, "Timeline"), intro, form); return; }
  const params = new URLSearchParams({ [kind]: value, limit: String(timelinePage) });
  if (tl.since) params.set("since", tl.since);
  if (tl.until) params.set("until", dayAfter(tl.until));
  const page = tl.pages.length - 1;
  if (tl.pages[page]) params.set("cursor", tl.pages[page]);
  const t = await api("GET", "/v1/timeline?" + params);
  const items = t.items || [];
  const st = t.stats || {};
  const kb = n => n >= 1048576 ? (n / 1048576).toFixed(1) + " MiB" : Math.ceil(n / 1024) + " KiB";
  const n = (k, noun) => k + " " + noun + (k === 1 ? "" : "s");
  const read = "Read " + n(st.files || 0, "file") + " (" + kb(st.bytes_read || 0) + ") in " + n(st.partitions || 0, "partition") + ", " + n(st.row_groups_read || 0, "row group") + "; " +
    n(st.events || 0, "event") + " in range checked in " + (st.seconds || 0).toFixed(2) + " s.";
  const rows = items.map(it => el("tr", { "data-event": it.event_uid },
    el("td", { class: "muted when" }, when(it.time)),
    el("td", {}, el("strong", {}, it.operation || it.class || "—"), el("div", { class: "muted" }, [it.service, it.source].filter(Boolean).join(" · "))),
    el("td", {}, it.summary || "", el("div", { class: "muted" }, [it.account ? "account " + it.account : "", it.region].filter(Boolean).join(" · "))),
    el("td", {}, it.actor ? entityLink("principal", it.actor) : "—"),
    el("td", {}, it.src_ip ? entityLink("ip", it.src_ip) : "—", it.dst_ip ? el("div", { class: "muted" }, "→ ", entityLink("ip", it.dst_ip)) : null),
    el("td", { class: it.error ? "bad" : "" }, it.error || it.outcome || ""),
    el("td", { class: "ids" }, (it.resources || []).length ? (it.resources || []).slice(0, 3).flatMap((r, i) => [i ? ", " : "", entityLink("resource", r)]) : "—")));
  const pager = el("div", { class: "pager" },
    el("button", { id: "tl-newer", type: "button", disabled: page ? null : "", onclick: () => { tl.pages.pop(); tl.paging = true; route(); } }, "← Newer"),
    el("span", { class: "muted" }, "Page " + (page + 1)),
    el("button", { id: "tl-older", type: "button", disabled: t.next_cursor ? null : "", onclick: () => { tl.pages.push(t.next_cursor); tl.paging = true; route(); } }, "Older →"));
  show(v, el("h1", {}, "Timeline"), intro, form,
    el("p", { id: "tl-entity" }, entityKinds.find(k => k[0] === kind)[1] + ": ", el("code", {}, value)),
    items.length ? el("div", { class: "card" }, el("table", { id: "timeline" },
      el("thead", {}, el("tr", {}, ["Time", "Action", "What happened", "Actor", "Address", "Outcome", "Resources"].map(h => el("th", {}, h)))),
      el("tbody", {}, rows)), pager)
      : el("p", { class: "empty", id: "no-timeline" }, page ? "No older events." : "Nothing in the lake for this entity in the range."),
    el("p", { class: "muted", id: "tl-read" }, read));
}

window.addEventListener("hashchange", () => { const t = $("#toast"); if (t) t.remove(); route(); });
document.addEventListener("DOMContentLoaded", async () => {
  $("#login-form").addEventListener("submit", login);
  const r = await fetch("/ui/session", { credentials: "same-origin" });
  if (r.ok) signedIn(await r.json()); else showLogin();
});
