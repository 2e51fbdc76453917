// The browsable page of /api/openapi.json (src/http/openapi.rs): operations grouped by tag,
// each expandable to its description, parameters, request body and responses. Builds the DOM
// with textContent only (no HTML from the document is interpreted).
"use strict";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function schemaText(doc, s) {
  if (s && s.$ref) {
    const name = s.$ref.split("/").pop();
    const target = (doc.components && doc.components.schemas || {})[name];
    return name + (target ? ": " + JSON.stringify(target, null, 2) : "");
  }
  return JSON.stringify(s, null, 2);
}

function operation(doc, path, method, op) {
  const sum = el("summary", {}, el("span", { class: "m " + method }, method.toUpperCase()), path,
    el("span", { class: "sum" }, op.summary || ""));
  const d = el("details", {}, sum);
  if (op.description) d.append(el("p", {}, op.description));
  if (op.parameters && op.parameters.length) {
    const t = el("table", {}, el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"), el("th", {}, "description")));
    for (const p of op.parameters) t.append(el("tr", {}, el("td", {}, p.name), el("td", {}, p.in), el("td", {}, p.description || "")));
    d.append(t);
  }
  if (op.requestBody) {
    d.append(el("h4", {}, "Request body"));
    const rb = op.requestBody;
    if (rb.description) d.append(el("p", {}, rb.description));
    for (const [ct, c] of Object.entries(rb.content || {})) d.append(el("pre", {}, ct + "  " + schemaText(doc, c.schema)));
  }
  d.append(el("h4", {}, "Responses"));
  for (const [status, r] of Object.entries(op.responses || {})) {
    d.append(el("p", {}, el("b", {}, status + " "), r.description || ""));
    for (const [ct, c] of Object.entries(r.content || {})) d.append(el("pre", {}, ct + "  " + schemaText(doc, c.schema)));
  }
  d.dataset.search = [method, path, op.summary, op.description, (op.tags || []).join(" ")].join(" ").toLowerCase();
  return d;
}

async function main() {
  const main = document.getElementById("ops");
  let doc;
  try {
    const r = await fetch("/api/openapi.json");
    doc = await r.json();
  } catch (e) {
    main.textContent = "Cannot load /api/openapi.json: " + e;
    return;
  }
  document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ["get", "post", "put", "patch", "delete"]) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(doc, path, method, op));
    }
  }
  main.textContent = "";
  for (const [tag, ops] of [...byTag.entries()].sort()) {
    const s = el("section", {}, el("h2", {}, tag));
    for (const o of ops) s.append(o);
    main.append(s);
  }
  document.getElementById("filter").addEventListener("input", (ev) => {
    const q = ev.target.value.toLowerCase();
    for (const d of main.querySelectorAll("details")) d.hidden = q !== "" && !d.dataset.search.includes(q);
    for (const s of main.querySelectorAll("section")) s.hidden = [...s.querySelectorAll("details")].every((d) => d.hidden);
  });
}

main();
