// kloset ui: hash routes over the read-only JSON API. Every value from the store is put in
// the page as text (textContent), never as markup.
"use strict";

const main = () => document.getElementById("main");

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

async function api(path, params) {
  const q = new URLSearchParams(params || {}).toString();
  const r = await fetch("/api/" + path + (q ? "?" + q : ""), { credentials: "same-origin" });
  const body = await r.json().catch(() => ({ error: "the server sent no JSON (" + r.status + ")" }));
  if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
  return body;
}

function show(title, ...content) {
  const m = main();
  m.replaceChildren(el("h1", { text: title }), ...content);
}

function failed(e) {
  main().append(el("p", { class: "error", text: e.message }));
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function when(t) { return t ? t.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC") : ""; }

function perms(mode, kind) {
  const t = kind === "dir" ? "d" : kind === "symlink" ? "l" : "-";
  let s = "";
  for (let i = 8; i >= 0; i--) s += (mode >> i) & 1 ? "rwx"[(8 - i) % 3] : "-";
  return t + s;
}

const enc = encodeURIComponent;
function browseLink(id, path) { return "#/browse/" + enc(id) + "/" + enc(path || "/"); }
function nodeLink(id, path) { return "#/node/" + enc(id) + "/" + enc(path); }
function fileUrl(id, path, extra) {
  return "/api/file?" + new URLSearchParams({ snapshot: id, path, ...(extra || {}) }).toString();
}
function join(dir, name) { return (dir.endsWith("/") ? dir : dir + "/") + name; }

let snapshotCache = null;
async function snapshots() {
  snapshotCache = (await api("snapshots")).snapshots;
  return snapshotCache;
}

async function listSnapshots() {
  const filter = el("input", { type: "text", id: "filter", placeholder: "filter by host, tag, path or id" });
  const table = el("table", { id: "snapshots" });
  show("Snapshots", el("div", { class: "bar" }, filter, el("span", { class: "muted", id: "count" })), table);
  const list = (await snapshots()).slice().reverse();
  const render = () => {
    const needle = filter.value.toLowerCase();
    const head = el("tr", {}, ...["ID", "Time", "Host", "Source", "Tags", "Files", "Size"].map(
      (h, i) => el("th", { class: i >= 5 ? "num" : "", text: h })));
    const rows = document.createDocumentFragment();
    let shown = 0;
    for (const s of list) {
      const hay = [s.id, s.hostname, s.source, ...s.paths, ...s.tags].join(" ").toLowerCase();
      if (needle && !hay.includes(needle)) continue;
      shown++;
      rows.append(el("tr", { "data-id": s.id },
        el("td", {}, el("a", { class: "mono", href: browseLink(s.id, "/"), text: s.short_id })),
        el("td", { text: when(s.time) }),
        el("td", { text: s.hostname }),
        el("td", { class: "mono", text: s.paths.length ? s.paths.join(", ") : s.source }),
        el("td", {}, ...s.tags.map(t => el("span", { class: "tag", text: t }))),
        el("td", { class: "num", text: String(s.summary.files) }),
        el("td", { class: "num", text: bytes(s.summary.bytes) })));
    }
    table.replaceChildren(head, rows);
    document.getElementById("count").textContent = shown + " of " + list.length + " snapshots";
  };
  filter.addEventListener("input", render);
  render();
}

function crumbs(id, path) {
  const shortId = /^[0-9a-f]{64}$/.test(id) ? id.slice(0, 8) : id;
  const bar = el("div", { class: "crumbs mono" }, el("a", { href: browseLink(id, "/"), text: shortId }), ":");
  let at = "";
  for (const part of path.split("/").filter(Boolean)) {
    at += "/" + part;
    bar.append("/", el("a", { href: browseLink(id, at), text: part }));
  }
  if (path === "/" || path === "") bar.append("/");
  return bar;
}

async function browse(id, path) {
  const zip = "/api/zip?" + new URLSearchParams({ snapshot: id, path }).toString();
  const table = el("table", { id: "entries" });
  show("Browse", el("div", { class: "bar" }, crumbs(id, path),
    el("a", { class: "button", id: "zip", href: zip, download: "", text: "Download as zip" })), table);
  const listing = await api("tree", { snapshot: id, path });
  const head = el("tr", {}, ...["Name", "Size", "Mode", "Modified", ""].map(
    (h, i) => el("th", { class: i === 1 ? "num" : "", text: h })));
  // Built apart and put in the page at once: a thousand rows cost one layout.
  const rows = document.createDocumentFragment();
  for (const e of listing.entries) {
    const p = join(path, e.part);
    const name = e.kind === "dir"
      ? el("a", { href: browseLink(id, p), text: e.name })
      : el("a", { href: nodeLink(id, p), text: e.name });
    const actions = el("td", {});
    if (e.kind === "file") {
      actions.append(el("a", { class: "download", href: fileUrl(id, p), download: e.name, text: "download" }));
    }
    if (e.kind === "symlink") actions.append(el("span", { class: "muted mono", text: "→ " + (e.target || "") }));
    rows.append(el("tr", { "data-name": e.name },
      el("td", { class: "kind-" + e.kind }, name, e.s3 ? el("span", { class: "tag", text: "S3" }) : null),
      el("td", { class: "num", text: e.kind === "file" ? bytes(e.size) : "" }),
      el("td", { class: "mono", text: perms(e.mode, e.kind) }),
      el("td", { text: when(e.mtime) }),
      actions));
  }
  table.replaceChildren(head, rows);
  const shownCount = listing.count > listing.entries.length ? ", first " + listing.entries.length + " shown" : "";
  main().append(el("p", { class: "muted", text: listing.count + " entries" + shownCount }));
}

function pairs(title, obj) {
  const rows = Object.entries(obj || {}).filter(([, v]) => v !== null && v !== undefined && v !== "");
  if (!rows.length) return null;
  return el("div", {}, el("h2", { text: title }), el("table", {},
    ...rows.map(([k, v]) => el("tr", {}, el("th", { text: k }),
      el("td", { class: "mono", text: typeof v === "object" ? JSON.stringify(v) : String(v) })))));
}

async function nodeInfo(id, path) {
  const parent = path.replace(/\/[^/]*$/, "") || "/";
  show("Entry", crumbs(id, path));
  const info = await api("node", { snapshot: id, path });
  const e = info.entry;
  if (!e) { location.hash = browseLink(id, "/"); return; }
  const m = main();
  m.append(pairs("Entry", { name: e.name, kind: e.kind, size: e.kind === "file" ? e.size + " bytes" : null,
    mode: perms(e.mode, e.kind), owner: e.uid + ":" + e.gid, modified: when(e.mtime), target: e.target,
    links: e.links || null }));
  if (info.s3) {
    const { user_metadata, tags, ...rest } = info.s3;
    m.append(pairs("S3 object", rest), pairs("S3 metadata", user_metadata), pairs("S3 tags", tags));
  }
  if (info.xattrs.length) {
    m.append(pairs("Extended attributes", Object.fromEntries(info.xattrs.map(x => [x.name, x.value]))));
  }
  m.append(el("p", {}, el("a", { href: browseLink(id, parent), text: "← back to the directory" })));
  if (e.kind !== "file") return;
  m.append(el("div", { class: "bar" },
    el("a", { class: "button download", href: fileUrl(id, path), download: e.name, text: "Download" })));
  if (/\.(png|jpe?g|gif|webp)$/i.test(e.name)) {
    m.append(el("h2", { text: "Preview" }), el("img", { class: "preview", alt: e.name, src: fileUrl(id, path, { inline: "true" }) }));
  } else if (e.size > 0) {
    const r = await fetch(fileUrl(id, path, { inline: "true", limit: "65536" }));
    if (!r.ok) throw new Error("the preview could not be read (" + r.status + ")");
    const buf = new Uint8Array(await r.arrayBuffer());
    const binary = buf.slice(0, 4096).some(b => b === 0);
    m.append(el("h2", { text: "Preview" + (e.size > 65536 ? " (first 64 KiB)" : "") }),
      binary ? el("p", { class: "muted", text: "binary content: download it to look at it" })
        : el("pre", { class: "preview", id: "preview", text: new TextDecoder().decode(buf) }));
  }
}

async function findPage(pattern, ignoreCase) {
  const input = el("input", { type: "text", id: "pattern", placeholder: "*.pdf or /etc/**/*.conf", value: pattern || "" });
  const ic = el("input", { type: "checkbox", id: "ignore-case" });
  ic.checked = !!ignoreCase;
  const go = () => { location.hash = "#/find/" + enc(input.value) + (ic.checked ? "/i" : ""); };
  input.addEventListener("keydown", ev => { if (ev.key === "Enter") go(); });
  show("Find", el("div", { class: "bar" }, input, el("label", {}, ic, " ignore case"), el("button", { onclick: go, text: "Find" })));
  if (!pattern) return;
  const found = await api("find", { pattern, ignore_case: ignoreCase ? "true" : "false" });
  const rows = document.createDocumentFragment();
  for (const h of found.hits) {
    const link = h.kind === "dir" ? browseLink(h.snapshot, h.at) : nodeLink(h.snapshot, h.at);
    rows.append(el("tr", {}, el("td", { class: "mono", text: h.short_id }), el("td", { text: when(h.time) }),
      el("td", { class: "kind-" + h.kind }, el("a", { href: link, text: h.path })),
      el("td", { class: "num", text: h.kind === "file" ? bytes(h.size) : "" })));
  }
  main().append(el("p", { class: "muted", text: found.count + " found" + (found.count > found.hits.length ? ", first " + found.hits.length + " shown" : "") }),
    el("table", { id: "hits" }, el("tr", {}, el("th", { text: "Snapshot" }), el("th", { text: "Time" }), el("th", { text: "Path" }), el("th", { class: "num", text: "Size" })), rows));
}

async function diffPage(a, b) {
  const list = snapshotCache || await snapshots();
  const pick = (id, chosen) => {
    const s = el("select", { id });
    for (const x of list) {
      const o = el("option", { value: x.id, text: x.short_id + "  " + when(x.time) + "  " + x.hostname + "  " + (x.paths.join(", ") || x.source) });
      if (x.id === chosen || x.short_id === chosen) o.selected = true;
      s.append(o);
    }
    return s;
  };
  const sa = pick("a", a || (list.length > 1 ? list[list.length - 2].id : ""));
  const sb = pick("b", b || (list.length ? list[list.length - 1].id : ""));
  const go = () => { location.hash = "#/diff/" + enc(sa.value) + "/" + enc(sb.value); };
  show("Diff", el("div", { class: "bar" }, sa, el("span", { text: "→" }), sb, el("button", { onclick: go, text: "Compare" })));
  if (!a || !b) return;
  const d = await api("diff", { a, b });
  const rows = document.createDocumentFragment();
  for (const c of d.changes) {
    rows.append(el("tr", {}, el("td", { class: "change-" + c.change, text: c.change }), el("td", { class: "mono", text: c.path })));
  }
  main().append(el("p", { class: "muted", text: d.count + " changes" }), el("table", { id: "changes" }, rows));
}

async function statePage() {
  show("Store");
  const s = await api("state");
  main().append(pairs("State", {
    store: s.store, snapshots: s.snapshots, hosts: s.hosts, packs: s.packs,
    "stored blobs": s.blobs + " (" + bytes(s.blob_bytes) + ")", health: s.health,
    "damaged index files": s.damaged_index_files, "missing packs": s.missing_packs,
    "damaged packs": s.damaged_packs, "last prune": s.last_prune,
  }));
}

async function route() {
  try {
    const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
    switch (parts[0]) {
      case "browse": return await browse(parts[1], parts[2] || "/");
      case "node": return await nodeInfo(parts[1], parts[2]);
      case "find": return await findPage(parts[1], parts[2] === "i");
      case "diff": return await diffPage(parts[1], parts[2]);
      case "state": return await statePage();
      default: return await listSnapshots();
    }
  } catch (e) {
    failed(e);
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", async () => {
  try { document.getElementById("store").textContent = (await api("state")).store; } catch (e) { /* shown by the page */ }
  route();
});
