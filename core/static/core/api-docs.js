// Render the service's OpenAPI document as a browsable page with a "try it" form per operation.
// Self-contained: no framework, no network access beyond this service.
"use strict";

(function () {
  const root = document.getElementById("docs");

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function resolve(spec, schema, depth) {
    if (!schema || depth > 6) return schema;
    if (schema.$ref) {
      const name = schema.$ref.split("/").pop();
      return resolve(spec, spec.components.schemas[name], depth + 1);
    }
    const copy = Array.isArray(schema) ? [] : {};
    for (const [key, value] of Object.entries(schema)) {
      copy[key] = value && typeof value === "object" ? resolve(spec, value, depth + 1) : value;
    }
    return copy;
  }

  function parametersTable(parameters) {
    const rows = parameters.map((p) =>
      el("tr", {},
        el("td", {}, el("code", {}, p.name)),
        el("td", {}, p.in),
        el("td", {}, JSON.stringify(p.schema || {})),
        el("td", {}, p.description || "")));
    return el("table", {},
      el("thead", {}, el("tr", {}, el("th", {}, "Parameter"), el("th", {}, "In"),
        el("th", {}, "Schema"), el("th", {}, "Description"))),
      el("tbody", {}, ...rows));
  }

  function tryForm(path, parameters) {
    const output = el("pre", {}, "");
    const inputs = parameters.map((p) => el("label", {}, ` ${p.name} `, el("input", { name: p.name })));
    const form = el("form", { class: "try" }, ...inputs, el("br"), el("button", { type: "submit" }, "Send"), output);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const query = new URLSearchParams();
      for (const input of form.querySelectorAll("input")) {
        if (input.value !== "") query.set(input.name, input.value);
      }
      const url = path + (query.toString() ? `?${query}` : "");
      output.textContent = `GET ${url} …`;
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        const text = await response.text();
        let body = text;
        try { body = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* not JSON */ }
        output.textContent = `GET ${url}\nHTTP ${response.status}\n\n${body}`;
      } catch (error) {
        output.textContent = `GET ${url} failed: ${error}`;
      }
    });
    return form;
  }

  function operation(spec, path, method, op) {
    const parameters = op.parameters || [];
    const responses = Object.entries(op.responses || {}).map(([status, response]) => {
      const content = response.content || {};
      const shown = Object.entries(content).map(([type, media]) =>
        el("div", {}, el("code", {}, type),
          el("pre", {}, JSON.stringify(resolve(spec, media.schema, 0), null, 2))));
      return el("div", {}, el("p", {}, el("span", { class: "status" }, status), ` ${response.description || ""}`), ...shown);
    });
    return el("details", { class: "op" },
      el("summary", {}, el("span", { class: "method" }, method.toUpperCase()),
        el("span", { class: "path" }, path), el("span", { class: "summary" }, op.summary || "")),
      el("div", { class: "body" },
        op.description ? el("p", {}, op.description) : null,
        parameters.length ? parametersTable(parameters) : null,
        el("h4", {}, "Responses"), ...responses,
        method === "get" && !path.includes("{") ? el("h4", {}, "Try it") : null,
        method === "get" && !path.includes("{") ? tryForm(path, parameters) : null));
  }

  function render(spec) {
    root.textContent = "";
    if (spec.info && spec.info.description) root.append(el("p", {}, spec.info.description));
    root.append(el("p", {}, `Version ${spec.info.version}`));
    const byTag = new Map((spec.tags || []).map((tag) => [tag.name, []]));
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const tag = (op.tags && op.tags[0]) || "other";
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push(operation(spec, path, method, op));
      }
    }
    const descriptions = new Map((spec.tags || []).map((tag) => [tag.name, tag.description]));
    for (const [tag, operations] of byTag) {
      if (!operations.length) continue;
      root.append(el("h2", {}, tag));
      if (descriptions.get(tag)) root.append(el("p", {}, descriptions.get(tag)));
      root.append(...operations);
    }
  }

  fetch(root.dataset.spec)
    .then((response) => response.json())
    .then(render)
    .catch((error) => { root.textContent = `Could not load the OpenAPI document: ${error}`; });
})();
