// The app side of the MCP Apps protocol (io.modelcontextprotocol/ui), shared by every view: JSON-RPC 2.0 over
// postMessage with the host window. No fetch: all data comes from the host (tool-input, tool-result, tools/call).
const app = (() => {
  const pending = new Map();
  const handlers = {};
  let nextId = 1;
  let context = {};

  function send(message) {
    window.parent.postMessage({ jsonrpc: "2.0", ...message }, "*");
  }

  function request(method, params) {
    const id = nextId++;
    send({ id, method, params });
    return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
  }

  function notify(method, params) {
    send({ method, params: params || {} });
  }

  function applyContext(ctx) {
    context = { ...context, ...(ctx || {}) };
    const root = document.documentElement;
    if (context.theme) {
      root.dataset.theme = context.theme;
      root.style.colorScheme = context.theme;
    }
    const variables = (context.styles && context.styles.variables) || {};
    for (const [name, value] of Object.entries(variables)) {
      if (name.startsWith("--") && typeof value === "string") root.style.setProperty(name, value);
    }
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    const m = event.data;
    if (!m || m.jsonrpc !== "2.0") return;
    if (m.method === undefined && pending.has(m.id)) {
      const { resolve, reject } = pending.get(m.id);
      pending.delete(m.id);
      if (m.error) reject(new Error(m.error.message || "the host refused the request"));
      else resolve(m.result);
      return;
    }
    if (m.method) {
      if (m.method === "ui/notifications/host-context-changed") applyContext(m.params);
      const handler = handlers[m.method];
      if (handler) handler(m.params || {});
      if (m.id !== undefined) send({ id: m.id, result: {} }); // e.g. ui/resource-teardown
    }
  });

  function reportSize() {
    const el = document.documentElement;
    notify("ui/notifications/size-changed", { width: el.scrollWidth, height: el.scrollHeight });
  }

  return {
    on(method, handler) {
      handlers[method] = handler;
    },
    get context() {
      return context;
    },
    async connect(name) {
      const result = await request("ui/initialize", {
        appInfo: { name, version: "1.0.0" },
        appCapabilities: {},
        protocolVersion: "2026-01-26",
      });
      applyContext((result && result.hostContext) || {});
      notify("ui/notifications/initialized");
      new ResizeObserver(reportSize).observe(document.body);
      reportSize();
      return result;
    },
    // A tool call through the host. Resolves with the CallToolResult; a tool error (isError) or a refusal (a
    // JSON-RPC error: the server checks the caller's role) rejects with the server's message.
    async callTool(name, args) {
      const result = await request("tools/call", { name, arguments: args || {} });
      if (result && result.isError) throw new Error(errorText(result));
      return result;
    },
  };
})();

function errorText(result) {
  const text = ((result.content || []).find((c) => c.type === "text") || {}).text || "the tool failed";
  try {
    const body = JSON.parse(text);
    return body.message || text;
  } catch {
    return text;
  }
}

// The structured result of a CallToolResult (or of the JSON text, for a host that passes only content).
function structured(result) {
  if (!result) return null;
  if (result.structuredContent) return result.structuredContent;
  const text = ((result.content || []).find((c) => c.type === "text") || {}).text;
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

// Element builder: h("div", {class: "x", "data-k": "a"}, "text", child...). Text is always set as text, never
// parsed as HTML, so nothing a tool returns can inject markup.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function money(m) {
  return m ? `${m.amount} ${m.currency}` : "";
}

function when(iso) {
  if (!iso) return "";
  return iso.replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, " UTC");
}

function show(root, ...nodes) {
  root.replaceChildren(...nodes);
}
