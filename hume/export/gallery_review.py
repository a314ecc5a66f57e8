"""The review tool of ``report.html``: rename, merge and move in the page, save corrections.json.

:func:`review_data` renders the page's data block (every row's key, class and confidence, the
classes and where each split's image files lie); :data:`REVIEW_JS` and :data:`REVIEW_CSS` are
the inline script and style that turn the gallery into a review tool. The script writes the
format :func:`hume.export.corrections.parse_corrections` reads, keys rows as
:meth:`hume.export.corrections.Review.key_of` does, and keeps work in progress in the browser's
localStorage under the run's name and the export's identity. Plain ES2017, no network.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

import numpy as np

from hume.export.corrections import FORBIDDEN, MAX_NAME, Review
from hume.export.rows import RunRows
from hume.export.tables import class_name

#: Most rows the page lists for review in all: a class lists every row up to
#: max(REVIEW_MIN_PER_CLASS, REVIEW_MAX_ROWS // K), beyond that its least confident rows (and
#: those shown as thumbnails), so that the page's data block stays a few MB whatever N is.
REVIEW_MAX_ROWS = 50_000
#: Rows a class lists at least, however large K is.
REVIEW_MIN_PER_CLASS = 50


def iter_keys(rows: RunRows, review: Review | None = None) -> Iterator[str]:
    """Every row's key, in order, as corrections name it (a path, ``<split>/<path>`` or
    ``<split>/<row>``), one at a time (``review``: a :class:`Review` of ``rows`` to reuse)."""
    review = review or Review(rows)
    for p, part in enumerate(rows.parts):
        for i in range(len(part)):
            yield review.key_of(p, i)


def row_keys(rows: RunRows) -> list[str]:
    """Every row's key (:func:`iter_keys`) as a list."""
    return list(iter_keys(rows))


def listed_per_class(k: int) -> int:
    """Rows a class lists at most in the page."""
    return max(REVIEW_MIN_PER_CLASS, REVIEW_MAX_ROWS // max(1, k))


def listed_rows(rows: RunRows, shown: np.ndarray) -> np.ndarray:
    """Sorted indices (over every row) of the rows the page lists: every row of a class of at
    most :func:`listed_per_class` rows; of a larger class that many of its least confident rows
    (confidence, then margin) and its rows in ``shown`` (the thumbnails)."""
    labels, conf, margin = rows.column("labels"), rows.column("confidence"), rows.column("margin")
    order = np.lexsort((margin, conf, labels))  # by class, least confident first
    starts = np.searchsorted(labels[order], labels[order], side="left")
    rank = np.arange(len(order)) - starts
    keep = order[rank < listed_per_class(rows.k)]
    return np.union1d(keep, np.asarray(shown, dtype=np.int64))


def _base(rows: RunRows, p: int, out_html: Path) -> str | None:
    """The URL prefix from the page to split ``p``'s image files, or None without files."""
    part = rows.parts[p]
    if part.paths is None or not part.source_root:
        return None
    rel = os.path.relpath(Path(part.source_root).resolve(), out_html.parent.resolve())
    return quote(Path(rel).as_posix()) + "/"


def review_data(
    rows: RunRows,
    out_html: Path,
    keys: Sequence[str] | Mapping[int, str],
    listed: np.ndarray | None = None,
    review: Review | None = None,
) -> str:
    """The JSON data block of the review tool, safe inside a ``<script>`` element.

    ``listed``: the rows (indices over every row, sorted) the page lists, default every row;
    ``keys[r]`` is row r's key for each of them. Classes with rows left out are counted in
    ``unlisted``; the ``id`` digests every row's key and class all the same (``review``: a
    :class:`Review` of ``rows`` to reuse)."""
    labels, conf = rows.column("labels"), rows.column("confidence")
    listed = np.arange(len(labels)) if listed is None else np.asarray(listed, dtype=np.int64)
    offsets = np.cumsum([0] + [len(part) for part in rows.parts])
    part_of = (np.searchsorted(offsets, listed, side="right") - 1).tolist()
    table = []
    for r, p in zip(listed.tolist(), part_of):
        part, i = rows.parts[p], r - int(offsets[p])
        row: list = [keys[r], int(labels[r]), round(float(conf[r]), 3), p]
        if part.paths is not None and part.paths[i] != keys[r]:
            row.append(part.paths[i])  # the file, where the key carries the split
        table.append(row)
    left_out = np.bincount(labels, minlength=rows.k) - np.bincount(labels[listed], minlength=rows.k)
    digest = hashlib.sha256()
    roots = [str(part.source_root) for part in rows.parts]
    for piece in (rows.run, str(rows.k), json.dumps(rows.names, sort_keys=True), *roots):
        digest.update(piece.encode() + b"\0")
    digest.update(labels.astype("<i8").tobytes())
    for n, key in enumerate(iter_keys(rows, review)):  # as "\0".join(keys), never all in memory
        digest.update((b"\0" if n else b"") + key.encode())
    data = {
        "run": rows.run,
        "id": digest.hexdigest()[:16],
        "k": rows.k,
        "classes": [[c, class_name(rows, c), rows.names.get(c)] for c in rows.live_classes()],
        "parts": [
            {"split": part.split, "base": _base(rows, p, out_html)}
            for p, part in enumerate(rows.parts)
        ],
        "rows": table,
        "listed_per_class": listed_per_class(rows.k),
        "unlisted": {str(c): int(n) for c, n in enumerate(left_out) if n},
        "forbidden": "".join(sorted(FORBIDDEN)),
        "max_name": MAX_NAME,
    }
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # "<" never appears raw, so neither "</script>" nor "<!--" can end or confuse the element
    return text.replace("<", "\\u003c")


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
.grid figure{cursor:pointer;border:2px solid transparent;border-radius:3px}
.grid figure.selected{border-color:#2a6fdb;background:#e6efff}
.grid figure.moved figcaption::after{content:attr(data-to);display:block;color:#a45;
font-weight:600}
.review-rows summary{cursor:pointer;font-size:.85em;color:#335}
.review-rows ol{font-size:.82em;margin:.3em 0;padding-left:3.5em}
.review-rows li{cursor:pointer}.review-rows li.selected{background:#e6efff}
.review-rows li .conf{color:#666;margin-left:.5em}.review-rows li .from{color:#a45}
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
  const unlisted = data.unlisted || {};  // class -> its rows not in this page
  // state: names (class -> name), target (merged class -> the class it joins), moves
  let state = { names: {}, target: {}, moves: {}, order: "least" };
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
    if (saved.order === "most") state.order = "most";
  }
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
    const out = { names: {}, merge: [], moves: {} };
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
    live.forEach((m) => { if (state.target[m] === c) state.target[m] = t; });
    state.target[c] = t;
  }
  function moveSelected(t) {
    selected.forEach((k) => {
      const r = rowOf.get(k);
      if (resolve(r[1]) === t) delete state.moves[k]; else state.moves[k] = t;
    });
    selected.clear();
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
    rest.sort((a, b) => (state.order === "least" ? a[2] - b[2] : b[2] - a[2]));
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
    bar.append(prev, " page " + (page + 1) + " of " + count + " ", next);
    const ol = el("ol", { start: String(page * PAGE + 1) });
    rest.slice(page * PAGE, (page + 1) * PAGE).forEach((r) => {
      const li = el("li", { "data-key": r[0] });
      if (selected.has(r[0])) li.className = "selected";
      const box_ = el("input", { type: "checkbox" });
      box_.checked = selected.has(r[0]);
      const link = href(r);
      const name = link ? el("a", { href: link, target: "_blank" }, r[0]) : el("span", {}, r[0]);
      name.onclick = (e) => e.stopPropagation();
      li.append(box_, " ", name, el("span", { class: "conf" }, r[2].toFixed(3)));
      if (resolve(r[1]) !== c) li.append(el("span", { class: "from" }, " from " + nameOf(r[1])));
      li.onclick = (e) => { if (e.target !== box_) e.preventDefault(); toggle(r[0]); };
      ol.appendChild(li);
    });
    list.append(bar, ol);
  }

  function update() {
    const members = {};
    live.forEach((c) => { members[c] = []; });
    data.rows.forEach((r) => { const c = classOf(r); if (members[c]) members[c].push(r); });
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
      const box = $("details.review-rows", section);
      const rest = members[c].filter((r) => !shownIn[c].has(r[0]));
      const hidden = live.filter((m) => resolve(m) === c)
        .reduce((sum, m) => sum + (unlisted[m] || 0), 0);
      $("summary", box).textContent = merged ? "no rows (merged)" : members[c].length
        + " rows now in this class" + (hidden ? " listed here, " + hidden + " more not in this "
        + "page (a class lists at most its " + data.listed_per_class + " least confident rows)"
        : "") + "; the " + rest.length + " without an image above, paged ("
        + (state.order === "least" ? "least" : "most") + " confident first)";
      if (box.open) renderList(c, box, rest);
    });
    $$("figure[data-key]").forEach((f) => {
      const r = rowOf.get(f.dataset.key);
      const home = Number(f.closest("section").dataset.class);
      const c = classOf(r);
      f.classList.toggle("selected", selected.has(r[0]));
      f.classList.toggle("moved", c !== resolve(home));
      const caption = $("figcaption", f);
      if (c !== resolve(home)) caption.dataset.to = "→ " + nameOf(c);
      else delete caption.dataset.to;
    });
    $("#review-count").textContent = selected.size + " selected";
    classOptions($("#review-move"), "move to…", null);
    $("#review-order").checked = state.order === "least";
    const bad = $$("input.review-name.bad").map((i) => i.title);
    $("#review-status").textContent = bad.concat(clash).join("; ");
    const fix = corrections();
    const edits = Object.keys(fix.names).length + fix.merge.length + Object.keys(fix.moves).length;
    $("#review-edits").textContent = edits + (edits === 1 ? " correction" : " corrections");
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
    const order = el("input", { type: "checkbox", id: "review-order" });
    const label = el("label", {});
    label.append(order, " least confident first");
    const clear = el("button", { type: "button", id: "review-clear" }, "clear selection");
    const saveButton = el("button", { type: "button", id: "review-save" }, "save corrections.json");
    const reset = el("button", { type: "button", id: "review-reset" }, "discard all");
    bar.append(el("b", {}, "Review"), el("span", { id: "review-count" }), move, clear, label,
      el("span", { id: "review-edits" }), saveButton, reset, el("span", { id: "review-status" }));
    move.onchange = () => {
      if (move.value !== "") { moveSelected(Number(move.value)); update(); }
    };
    clear.onclick = () => { selected.clear(); update(); };
    order.onchange = () => { state.order = order.checked ? "least" : "most"; update(); };
    saveButton.onclick = save;
    reset.onclick = () => {
      if (window.confirm("Discard every rename, merge and move of this page?")) {
        state = { names: {}, target: {}, moves: {}, order: state.order };
        update();
      }
    };
    $$("section.class[data-class]").forEach((section) => {
      const c = Number(section.dataset.class);
      const controls = $(".review-controls", section);
      const input = el("input", { class: "review-name", type: "text", placeholder: shownName[c] });
      const select = el("select", { class: "review-merge" });
      const nameLabel = el("label", {}, "name ");
      nameLabel.appendChild(input);
      controls.append(nameLabel, select, el("span", { class: "review-merged-note" }));
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
