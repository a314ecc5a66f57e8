"""The inline style and script of the gallery's review tool (hume.export.gallery_review): rename,
merge, split, move and confirm in the page, save corrections.json (docs/data.md §3.9, §3.13).
Plain ES2017, no network; the page's data block is :func:`hume.export.gallery_review.review_data`.
"""

REVIEW_CSS = """
#review-bar{position:sticky;top:0;z-index:5;background:#f7f9fc;border:1px solid #c9d3e0;
border-radius:6px;padding:.5em .8em;margin:.5em 0 1em;display:flex;flex-wrap:wrap;gap:.4em 1em;
align-items:center;font-size:.9em}
#review-bar b{margin-right:.3em}#review-status{color:#a45}
.review-controls{display:flex;flex-wrap:wrap;gap:.3em 1em;align-items:center;font-size:.85em;
margin:.2em 0 .4em}
.review-controls input.bad{border-color:#c33;background:#fee}
section.class.merged{opacity:.55}
.review-merged-note{color:#a45;font-weight:600}
section.class.split{border:2px dashed #c07a12;background:#fffaf0}
.review-split-note{color:#a05e00;font-weight:600}
#review-split-hint{color:#a05e00}
.grid figure{cursor:pointer;border:2px solid transparent;border-radius:3px}
.grid figure.confirmed{border-color:#3a9a50;background:#eef8f0}
.grid figure.selected{border-color:#2a6fdb;background:#e6efff}
.grid figure.confirmed figcaption::before{content:"\\2713  confirmed";display:block;color:#2a7a3b;
font-weight:600}
.grid figure.moved figcaption::after{content:attr(data-to);display:block;color:#a45;
font-weight:600}
.review-rows summary{cursor:pointer;font-size:.85em;color:#335}
.review-rows ol{font-size:.82em;margin:.3em 0;padding-left:3.5em}
.review-rows li{cursor:pointer}.review-rows li.selected{background:#e6efff}
.review-rows li .conf{color:#666;margin-left:.5em}.review-rows li .from{color:#a45}
.review-rows li.out{color:#888;text-decoration:line-through}
.review-rows li .to{color:#a45;text-decoration:none;display:inline-block;margin-left:.5em}
.review-rows li .ok{color:#2a7a3b;font-weight:600;margin-left:.5em}
.review-pager button.review-confirm-page{margin-left:1em}
#corrections-json{width:100%;height:8em;font-family:monospace;font-size:.8em}
"""

REVIEW_JS = r"""
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("hume-review-data").textContent);
  const storeKey = "hume-review:" + data.run + ":" + data.id;
  const PAGE = 50;
  const live = data.classes.map((e) => e[0]);
  const shownName = {}, givenName = {};
  data.classes.forEach((e) => { shownName[e[0]] = e[1]; givenName[e[0]] = e[2]; });
  const rowOf = new Map(data.rows.map((r) => [r[0], r]));
  const place = new Map(data.rows.map((r, i) => [r[0], i]));  // ties keep the rows' order
  const unlisted = data.unlisted || {};  // class -> its rows not in this page
  // state: names (class -> name), target (merged class -> the class it joins), moves (row ->
  // class), confirm (row -> 1: kept in the class it is in now; never a moved row), split (live
  // class -> parts: a number, or "2:4" for hume to choose)
  const fresh = () => ({ names: {}, target: {}, moves: {}, confirm: {}, split: {} });
  let state = Object.assign(fresh(), { order: "least" });
  const SPLITS = [2, 3, 4, 5, 6, "2:4"];
  const selected = new Set();
  const pages = {};
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const el = (tag, attrs, text) => {
    const e = document.createElement(tag);
    Object.keys(attrs || {}).forEach((k) => e.setAttribute(k, attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  };

  function load() {
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem(storeKey) || "null"); } catch (e) { saved = null; }
    if (!saved || typeof saved !== "object") return;
    const known = (c) => live.indexOf(Number(c)) >= 0;
    Object.keys(saved.names || {}).forEach((c) => {
      if (known(c) && typeof saved.names[c] === "string") state.names[c] = saved.names[c];
    });
    Object.keys(saved.target || {}).forEach((c) => {
      if (known(c) && known(saved.target[c])) state.target[c] = Number(saved.target[c]);
    });
    Object.keys(saved.moves || {}).forEach((k) => {
      if (rowOf.has(k) && known(saved.moves[k])) state.moves[k] = Number(saved.moves[k]);
    });
    const confirmed = saved.confirm && !Array.isArray(saved.confirm) ? saved.confirm : {};
    Object.keys(confirmed).forEach((k) => {
      if (rowOf.has(k) && state.moves[k] === undefined) state.confirm[k] = 1;
    });
    Object.keys(saved.split || {}).forEach((c) => {
      const parts = splitValue(saved.split[c]);
      if (known(c) && state.target[c] === undefined && parts !== null) state.split[c] = parts;
    });
    if (saved.order === "most") state.order = "most";
  }
  function splitValue(v) {  // parts as corrections.json writes them (2, or "2:4"), else null
    if (typeof v === "string" && /^\d+$/.test(v)) v = Number(v);
    if (typeof v === "number") {
      return Number.isInteger(v) && v >= 2 && v <= data.max_split ? v : null;
    }
    const m = typeof v === "string" ? /^(\d+):(\d+)$/.exec(v) : null;
    if (!m) return null;
    const lo = Number(m[1]), hi = Number(m[2]);
    return lo >= 2 && lo <= hi && hi <= data.max_split ? v : null;
  }
  const splitText = (v) => (typeof v === "number" ? v + " parts"
    : v.replace(":", " to ") + " parts (hume chooses)");
  function store() {
    try { localStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }
  const resolve = (c) => (state.target[c] !== undefined ? state.target[c] : c);
  const isLive = (c) => state.target[c] === undefined;
  const classOf = (r) => resolve(state.moves[r[0]] !== undefined ? state.moves[r[0]] : r[1]);
  function nameOf(c) {
    if (state.names[c] !== undefined) return state.names[c];
    return givenName[c] || shownName[c];
  }
  const named = (c) => state.names[c] !== undefined || !!givenName[c];
  function nameProblem(name) {
    const t = name.trim();
    if (!t) return "a name cannot be empty";
    if (t.length > data.max_name) return "at most " + data.max_name + " characters";
    for (const ch of t) {
      if (data.forbidden.indexOf(ch) >= 0 || /[\u0000-\u001f\u007f]/.test(ch)) {
        return "names hold no " + data.forbidden.split("").join(" ") + " or control characters";
      }
    }
    return "";
  }

  function corrections() {
    const out = { run: data.run, names: {}, merge: [], moves: {} };
    live.forEach((c) => {
      if (isLive(c) && state.names[c] !== undefined && state.names[c] !== givenName[c]) {
        out.names[String(c)] = state.names[c];
      }
    });
    live.forEach((c) => {
      if (!isLive(c)) return;
      const group = live.filter((m) => m !== c && state.target[m] === c);
      if (group.length) out.merge.push([c].concat(group));
    });
    Object.keys(state.moves).sort().forEach((k) => { out.moves[k] = state.moves[k]; });
    out.confirm = Object.keys(state.confirm).filter((k) => state.moves[k] === undefined).sort();
    out.split = {};
    live.forEach((c) => {
      if (isLive(c) && state.split[c] !== undefined) out.split[String(c)] = state.split[c];
    });
    out.comment = "made in the gallery of run " + data.run;
    return out;
  }
  window.humeCorrections = corrections;

  function mergeInto(c, t) {
    if (t === null) { delete state.target[c]; return; }
    t = resolve(t);
    if (t === c) return;
    if (!named(t) && named(c)) state.names[t] = nameOf(c);  // the name is kept, as the CLI does
    delete state.names[c];
    // a split goes with the class it is now part of, as hume applies it (unless that has one)
    if (state.split[c] !== undefined && state.split[t] === undefined) {
      state.split[t] = state.split[c];
    }
    delete state.split[c];
    live.forEach((m) => { if (state.target[m] === c) state.target[m] = t; });
    state.target[c] = t;
  }
  function moveSelected(t) {
    selected.forEach((k) => {
      const r = rowOf.get(k);
      delete state.confirm[k];  // a moved row is anchored by its move: never both
      if (resolve(r[1]) === t) delete state.moves[k]; else state.moves[k] = t;
    });
    selected.clear();
  }
  // confirm: the rows stay in the class they are in now (a moved row is kept by its move)
  function confirmRows(keys) {
    keys.forEach((k) => { if (state.moves[k] === undefined) state.confirm[k] = 1; });
  }
  const isConfirmed = (k) => state.confirm[k] !== undefined && state.moves[k] === undefined;
  function splitOptions(select, c) {
    const v = state.split[c];
    select.textContent = "";
    const first = v === undefined ? "split into…" : "— don't split —";
    select.appendChild(el("option", { value: "" }, first));
    const values = SPLITS.indexOf(v) >= 0 || v === undefined ? SPLITS : SPLITS.concat([v]);
    values.forEach((x) => {
      const text = typeof x === "number" ? x + " parts"
        : x.replace(":", " to ") + " (hume chooses)";
      select.appendChild(el("option", { value: String(x) }, text));
    });
    select.value = v === undefined ? "" : String(v);
  }
  function toggle(key) {
    if (selected.has(key)) selected.delete(key); else selected.add(key);
    update();
  }
  function classOptions(select, first, except) {
    select.textContent = "";
    select.appendChild(el("option", { value: "" }, first));
    live.filter((c) => isLive(c) && c !== except).forEach((c) => {
      select.appendChild(el("option", { value: String(c) }, nameOf(c) + " (" + c + ")"));
    });
  }

  function href(r) {
    const base = data.parts[r[3]].base;
    if (base === null) return null;
    return base + (r[4] !== undefined ? r[4] : r[0]).split("/").map(encodeURIComponent).join("/");
  }
  const shownIn = {};  // class -> the keys of its section's thumbnails
  $$("section.class[data-class]").forEach((s) => {
    shownIn[s.dataset.class] = new Set($$("figure[data-key]", s).map((f) => f.dataset.key));
  });
  function renderList(c, box, rest) {
    // rows moved out of the class stay in its list, struck through, so that a page keeps its rows
    rest.sort((a, b) => (state.order === "least" ? a[2] - b[2] : b[2] - a[2])
      || place.get(a[0]) - place.get(b[0]));
    const count = Math.max(1, Math.ceil(rest.length / PAGE));
    const page = Math.min(pages[c] || 0, count - 1);
    pages[c] = page;
    const list = $(".review-list", box);
    list.textContent = "";
    const bar = el("div", { class: "review-pager" });
    const prev = el("button", { type: "button" }, "‹ previous");
    const next = el("button", { type: "button" }, "next ›");
    prev.disabled = page === 0; next.disabled = page >= count - 1;
    prev.onclick = () => { pages[c] = page - 1; update(); };
    next.onclick = () => { pages[c] = page + 1; update(); };
    const shown = rest.slice(page * PAGE, (page + 1) * PAGE);
    // "confirm the rest": the rows of this page still in this class, neither moved nor selected
    const rows = shown.filter((r) => classOf(r) === c && state.moves[r[0]] === undefined
      && !selected.has(r[0]) && !isConfirmed(r[0]));
    const keep = el("button", { type: "button", class: "review-confirm-page",
      title: "keep every row of this page that is still in this class, not moved and not "
        + "selected, in this class (saved as confirm)" }, "confirm the rest of this page");
    keep.disabled = rows.length === 0;
    keep.onclick = () => { confirmRows(rows.map((r) => r[0])); update(); };
    bar.append(prev, " page " + (page + 1) + " of " + count + " ", next, keep);
    const ol = el("ol", { start: String(page * PAGE + 1) });
    shown.forEach((r) => {
      const li = el("li", { "data-key": r[0] });
      const now = classOf(r);
      li.classList.toggle("selected", selected.has(r[0]));
      li.classList.toggle("out", now !== c);
      li.classList.toggle("confirmed", isConfirmed(r[0]));
      const box_ = el("input", { type: "checkbox" });
      box_.checked = selected.has(r[0]);
      const link = href(r);
      const name = link ? el("a", { href: link, target: "_blank" }, r[0]) : el("span", {}, r[0]);
      name.onclick = (e) => e.stopPropagation();
      li.append(box_, " ", name, el("span", { class: "conf" }, r[2].toFixed(3)));
      if (now !== c) li.append(el("span", { class: "to" }, "→ " + nameOf(now)));
      else if (resolve(r[1]) !== c) {
        li.append(el("span", { class: "from" }, " from " + nameOf(r[1])));
      }
      if (isConfirmed(r[0])) li.append(el("span", { class: "ok" }, "✓ confirmed"));
      li.onclick = (e) => { if (e.target !== box_) e.preventDefault(); toggle(r[0]); };
      ol.appendChild(li);
    });
    list.append(bar, ol);
  }

  function update() {
    const members = {}, away = {};  // class -> its rows now; -> the rows moved out of it
    live.forEach((c) => { members[c] = []; away[c] = []; });
    data.rows.forEach((r) => {
      const c = classOf(r), home = resolve(r[1]);
      if (members[c]) members[c].push(r);
      if (home !== c && away[home]) away[home].push(r);
    });
    const names = {};
    const clash = [];
    live.filter(isLive).forEach((c) => {
      const n = nameOf(c);
      if (names[n] !== undefined) clash.push("classes " + names[n] + " and " + c + " are both named " + n);
      names[n] = c;
    });
    $$("section.class[data-class]").forEach((section) => {
      const c = Number(section.dataset.class);
      const merged = !isLive(c);
      section.classList.toggle("merged", merged);
      $("h2", section).textContent = nameOf(c);
      const input = $("input.review-name", section);
      if (document.activeElement !== input && !input.classList.contains("bad")) {
        input.value = state.names[c] !== undefined ? state.names[c] : (givenName[c] || "");
      }
      input.disabled = merged;
      const select = $("select.review-merge", section);
      classOptions(select, merged ? "— keep separate —" : "merge into…", c);
      select.value = merged ? String(state.target[c]) : "";
      $(".review-merged-note", section).textContent = merged
        ? "merged into " + nameOf(state.target[c]) + ": its rows are listed there" : "";
      const split = $("select.review-split", section);
      splitOptions(split, c);
      split.disabled = merged;
      split.title = merged ? "a merged class is split with the class it joined" : "split this "
        + "class into parts by a new search (hume label FOLDER --corrections corrections.json)";
      const parts = merged ? undefined : state.split[c];
      section.classList.toggle("split", parts !== undefined);
      $(".review-split-note", section).textContent = parts === undefined ? ""
        : "to be split into " + splitText(parts) + " by a new search";
      const box = $("details.review-rows", section);
      const rest = members[c].filter((r) => !shownIn[c].has(r[0]));
      const out = away[c].filter((r) => !shownIn[c].has(r[0]));
      const hidden = live.filter((m) => resolve(m) === c)
        .reduce((sum, m) => sum + (unlisted[m] || 0), 0);
      $("summary", box).textContent = merged ? "no rows (merged)" : members[c].length
        + " rows now in this class" + (hidden ? " listed here, " + hidden + " more not in this "
        + "page (a class lists at most its " + data.listed_per_class + " least confident rows)"
        : "") + "; the " + rest.length + " without an image above, paged ("
        + (state.order === "least" ? "least" : "most") + " confident first)"
        + (out.length && !merged ? ", with the " + out.length + " moved out struck through" : "");
      if (box.open) renderList(c, box, rest.concat(out));
    });
    $$("figure[data-key]").forEach((f) => {
      const r = rowOf.get(f.dataset.key);
      const home = Number(f.closest("section").dataset.class);
      const c = classOf(r);
      f.classList.toggle("selected", selected.has(r[0]));
      f.classList.toggle("confirmed", isConfirmed(r[0]));
      f.classList.toggle("moved", c !== resolve(home));
      const caption = $("figcaption", f);
      if (c !== resolve(home)) caption.dataset.to = "→ " + nameOf(c);
      else delete caption.dataset.to;
    });
    $("#review-count").textContent = selected.size + " selected";
    classOptions($("#review-move"), "move to…", null);
    $("#review-confirm").disabled = selected.size === 0;
    $("#review-unconfirm").disabled = !Array.from(selected).some(isConfirmed);
    $("#review-order").checked = state.order === "least";
    const bad = $$("input.review-name.bad").map((i) => i.title);
    $("#review-status").textContent = bad.concat(clash).join("; ");
    const fix = corrections();
    const edits = Object.keys(fix.names).length + fix.merge.length + Object.keys(fix.moves).length
      + fix.confirm.length + Object.keys(fix.split).length;
    $("#review-edits").textContent = edits + (edits === 1 ? " correction" : " corrections");
    $("#review-split-hint").textContent = Object.keys(fix.split).length
      ? "a split takes a new search: hume label FOLDER --corrections corrections.json "
        + "(hume export refuses a file with a split)" : "";
    $("#corrections-json").value = JSON.stringify(fix, null, 1);
    store();
  }

  function save() {
    const text = JSON.stringify(corrections(), null, 1) + "\n";
    const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    const a = el("a", { href: url, download: "corrections.json" });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function build() {
    const bar = $("#review-bar");
    const move = el("select", { id: "review-move" });
    const keep = el("button", { type: "button", id: "review-confirm",
      title: "keep the selected images in the class they are in now (a moved image is kept "
        + "by its move)" }, "confirm");
    const unkeep = el("button", { type: "button", id: "review-unconfirm" }, "unconfirm");
    const order = el("input", { type: "checkbox", id: "review-order" });
    const label = el("label", {});
    label.append(order, " least confident first");
    const clear = el("button", { type: "button", id: "review-clear" }, "clear selection");
    const saveButton = el("button", { type: "button", id: "review-save" }, "save corrections.json");
    const reset = el("button", { type: "button", id: "review-reset" }, "discard all");
    bar.append(el("b", {}, "Review"), el("span", { id: "review-count" }), move, keep, unkeep,
      clear, label, el("span", { id: "review-edits" }), saveButton, reset,
      el("span", { id: "review-status" }), el("span", { id: "review-split-hint" }));
    move.onchange = () => {
      if (move.value !== "") { moveSelected(Number(move.value)); update(); }
    };
    keep.onclick = () => { confirmRows(Array.from(selected)); selected.clear(); update(); };
    unkeep.onclick = () => {
      selected.forEach((k) => { delete state.confirm[k]; });
      selected.clear();
      update();
    };
    clear.onclick = () => { selected.clear(); update(); };
    order.onchange = () => { state.order = order.checked ? "least" : "most"; update(); };
    saveButton.onclick = save;
    reset.onclick = () => {
      const all = "every rename, merge, split, move and confirmation";
      if (window.confirm("Discard " + all + " of this page?")) {
        state = Object.assign(fresh(), { order: state.order });
        update();
      }
    };
    $$("section.class[data-class]").forEach((section) => {
      const c = Number(section.dataset.class);
      const controls = $(".review-controls", section);
      const input = el("input", { class: "review-name", type: "text", placeholder: shownName[c] });
      const select = el("select", { class: "review-merge" });
      const split = el("select", { class: "review-split" });
      const nameLabel = el("label", {}, "name ");
      nameLabel.appendChild(input);
      controls.append(nameLabel, select, split, el("span", { class: "review-merged-note" }),
        el("span", { class: "review-split-note" }));
      input.oninput = () => {
        const value = input.value.trim();
        const problem = value ? nameProblem(value) : "";
        input.classList.toggle("bad", !!problem);
        input.title = problem ? "class " + c + ": " + problem : "";
        if (!problem) {
          if (!value || value === (givenName[c] || "")) delete state.names[c];
          else state.names[c] = value;
        }
        update();
      };
      select.onchange = () => {
        mergeInto(c, select.value === "" ? null : Number(select.value));
        update();
      };
      split.onchange = () => {
        const parts = splitValue(split.value);
        if (parts === null) delete state.split[c]; else state.split[c] = parts;
        update();
      };
      const box = el("details", { class: "review-rows" });
      box.append(el("summary", {}), el("div", { class: "review-list" }));
      box.addEventListener("toggle", update);
      section.appendChild(box);
    });
    $$("figure[data-key]").forEach((f) => { f.onclick = () => toggle(f.dataset.key); });
  }

  load();
  build();
  update();
})();
"""
