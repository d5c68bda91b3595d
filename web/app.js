// Lastro live dashboard. Plain JS, no build step. State comes from the server's
// Server-Sent Events (/api/events): a "resync" snapshot, then "request", "status"
// and per-second "tick" events. Reconnects resume after the last event id.
"use strict";

(function () {
  const STATUSES = ["PENDING", "APPROVED", "REJECTED", "MANUAL_REVIEW", "FAILED"];
  const COLORS = {
    PENDING: "#8a94a6", APPROVED: "#1f9d55", REJECTED: "#d64545",
    MANUAL_REVIEW: "#d69e2e", FAILED: "#6b46c1",
  };
  const TZ = "America/Sao_Paulo";
  const MAX_ROWS = 50;
  const MAX_TICKS = 900;

  // Every visible string, in one place. pt-BR is the default.
  const I18N = {
    "pt-BR": {
      title: "Solicitações de crédito ao vivo", channel: "Canal", all_channels: "Todos",
      window: "Janela", today: "Hoje por status", approval_rate: "Taxa de aprovação",
      latency: "Latência da decisão", risk: "Provedor de risco", error_rate: "Taxa de erro",
      circuit: "Circuito", in_flight: "Em andamento", replication: "Replicação",
      lag_bytes: "Atraso (bytes)", lag_seconds: "Atraso (s)",
      rate_chart: "Solicitações por segundo, por status", latest: "Últimas solicitações",
      col_time: "Hora", col_id: "ID", col_cpf: "CPF", col_amount: "Valor", col_channel: "Canal",
      col_status: "Status", col_band: "Faixa", col_decision_ms: "Decisão (ms)",
      col_provider_ms: "Provedor (ms)", live: "ao vivo", connecting: "reconectando…",
      decided_today: "{n} decididas hoje", toggle: "English", page_title: "Lastro — painel ao vivo",
      PENDING: "Pendente", APPROVED: "Aprovada", REJECTED: "Recusada",
      MANUAL_REVIEW: "Análise manual", FAILED: "Falha",
      closed: "fechado", open: "aberto", half_open: "semiaberto",
    },
    en: {
      title: "Live credit requests", channel: "Channel", all_channels: "All",
      window: "Window", today: "Today by status", approval_rate: "Approval rate",
      latency: "Decision latency", risk: "Risk provider", error_rate: "Error rate",
      circuit: "Circuit", in_flight: "In flight", replication: "Replication",
      lag_bytes: "Lag (bytes)", lag_seconds: "Lag (s)",
      rate_chart: "Requests per second, by status", latest: "Latest requests",
      col_time: "Time", col_id: "ID", col_cpf: "CPF", col_amount: "Amount", col_channel: "Channel",
      col_status: "Status", col_band: "Band", col_decision_ms: "Decision (ms)",
      col_provider_ms: "Provider (ms)", live: "live", connecting: "reconnecting…",
      decided_today: "{n} decided today", toggle: "Português", page_title: "Lastro — live dashboard",
      PENDING: "Pending", APPROVED: "Approved", REJECTED: "Rejected",
      MANUAL_REVIEW: "Manual review", FAILED: "Failed",
      closed: "closed", open: "open", half_open: "half open",
    },
  };

  let lang = localStorage.getItem("lastro.lang") || "pt-BR";
  const t = (key) => (I18N[lang] && I18N[lang][key]) || key;
  const brl = new Intl.NumberFormat("pt-BR", { style: "currency", currency: "BRL" });
  const num = () => new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  const pct = () => new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
  const clockFmt = () => new Intl.DateTimeFormat(lang, {
    timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false,
  });
  const timeFmt = () => new Intl.DateTimeFormat(lang, {
    timeZone: TZ, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });

  // --- state ------------------------------------------------------------------------
  const state = {
    lastEventId: null,
    today: {},
    approvalRate: null,
    lastTick: null,
    ticks: [],            // {at: seconds, rates: {channel: {status: per second}}}
    rows: new Map(),      // id -> row, insertion order = arrival order
    channels: new Set(),
    connected: false,
    resyncs: 0,           // snapshots received (1 on a clean start; more after a gap)
  };
  window.lastroDashboard = state;  // for the browser test and curious operators

  const $ = (id) => document.getElementById(id);
  const filterChannel = () => $("filter-channel").value;
  const filterWindow = () => Number($("filter-window").value);

  // --- rendering --------------------------------------------------------------------
  function applyLanguage() {
    document.documentElement.lang = lang;
    document.title = t("page_title");
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    $("lang-toggle").textContent = t("toggle");
    renderAll();
  }

  function renderCards() {
    const dl = $("today-counts");
    dl.replaceChildren();
    for (const s of STATUSES) {
      const dt = document.createElement("dt");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = COLORS[s];
      dt.append(sw, t(s));
      const dd = document.createElement("dd");
      dd.id = "count-" + s;
      dd.textContent = num().format(state.today[s] || 0);
      dl.append(dt, dd);
    }
    let decided = 0;
    for (const s of STATUSES) if (s !== "PENDING") decided += state.today[s] || 0;
    $("approval-rate").textContent = state.approvalRate == null ? "—" : pct().format(state.approvalRate);
    $("decided-today").textContent = t("decided_today").replace("{n}", num().format(decided));
    const tick = state.lastTick;
    const ms = (v) => (v == null ? "—" : num().format(v) + " ms");
    $("lat-p50").textContent = tick ? ms(tick.latency_ms.p50) : "—";
    $("lat-p95").textContent = tick ? ms(tick.latency_ms.p95) : "—";
    $("lat-p99").textContent = tick ? ms(tick.latency_ms.p99) : "—";
    $("risk-error-rate").textContent = tick ? pct().format(tick.risk.error_rate) : "—";
    $("risk-circuit").textContent = tick ? t(tick.risk.circuit) : "—";
    $("risk-in-flight").textContent = tick ? num().format(tick.risk.in_flight) : "—";
    $("lag-bytes").textContent = tick ? formatBytes(tick.replication.lag_bytes) : "—";
    $("lag-seconds").textContent = tick ? num().format(tick.replication.lag_seconds) + " s" : "—";
  }

  function formatBytes(n) {
    const units = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return num().format(n) + " " + units[i];
  }

  function visibleRow(row, now) {
    if (filterChannel() && row.channel !== filterChannel()) return false;
    const at = Date.parse(row.created_at || row.decided_at);
    return !(at && now - at > filterWindow() * 1000);
  }

  function rowCells(row) {
    const cell = (text, cls) => {
      const td = document.createElement("td");
      if (cls) td.className = cls;
      td.textContent = text;
      return td;
    };
    const status = document.createElement("span");
    status.className = "status status-" + row.status;
    status.textContent = t(row.status);
    const statusTd = document.createElement("td");
    statusTd.append(status);
    const at = row.created_at ? timeFmt().format(new Date(row.created_at)) : "";
    const ms = (v) => (v == null ? "" : num().format(v));
    return [cell(at), cell(String(row.id)), cell(row.cpf), cell(brl.format(row.amount_cents / 100), "num"),
            cell(row.channel), statusTd, cell(row.band || ""), cell(ms(row.decision_ms), "num"),
            cell(ms(row.provider_ms), "num")];
  }

  function renderRow(row, animation) {
    const tbody = $("rows");
    const now = Date.now();
    let tr = tbody.querySelector('tr[data-id="' + row.id + '"]');
    if (!visibleRow(row, now)) { if (tr) tr.remove(); return; }
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.id = row.id;
      tbody.prepend(tr);
      while (tbody.rows.length > MAX_ROWS) tbody.lastElementChild.remove();
    }
    tr.dataset.status = row.status;
    tr.replaceChildren(...rowCells(row));
    if (animation) {
      tr.classList.remove("added", "changed");
      void tr.offsetWidth;  // restart the animation
      tr.classList.add(animation);
    }
  }

  function renderTable() {
    const tbody = $("rows");
    tbody.replaceChildren();
    const now = Date.now();
    const rows = [...state.rows.values()].filter((r) => visibleRow(r, now)).slice(-MAX_ROWS);
    for (const r of rows) renderRow(r, null);
  }

  function renderChannels() {
    const sel = $("filter-channel");
    const have = new Set([...sel.options].map((o) => o.value));
    for (const c of [...state.channels].sort()) {
      if (have.has(c)) continue;
      const o = document.createElement("option");
      o.value = c;
      o.textContent = c;
      sel.append(o);
    }
  }

  // --- chart ------------------------------------------------------------------------
  let plot = null;
  function chartData() {
    const from = Date.now() / 1000 - filterWindow();
    const ch = filterChannel();
    const ticks = state.ticks.filter((k) => k.at >= from);
    const xs = ticks.map((k) => k.at);
    const series = STATUSES.map((s) => ticks.map((k) => {
      let sum = 0;
      for (const [c, byStatus] of Object.entries(k.rates)) if (!ch || c === ch) sum += byStatus[s] || 0;
      return sum;
    }));
    return [xs, ...series];
  }
  function renderChart() {
    if (typeof uPlot === "undefined") return;
    const el = $("chart");
    const width = Math.max(el.clientWidth, 300);
    if (!plot) {
      plot = new uPlot({
        width, height: 240,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), TZ),
        scales: {
          // Always the whole window, ending now, so the time axis reads the same
          // whether the page has just opened or has been live for hours.
          x: { time: true, range: () => [Date.now() / 1000 - filterWindow(), Date.now() / 1000] },
          y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] },
        },
        series: [{ label: t("col_time") }, ...STATUSES.map((s) => ({ label: t(s), stroke: COLORS[s], width: 2,
                                               points: { show: false } }))],
        axes: [
          { values: (u, splits) => splits.map((ts) => clockFmt().format(new Date(ts * 1000))) },
          { label: "/s" },
        ],
      }, chartData(), el);
    } else {
      plot.setData(chartData());
    }
  }
  function rebuildChart() {  // labels changed
    if (plot) { plot.destroy(); plot = null; }
    renderChart();
  }
  window.addEventListener("resize", () => {
    if (plot) plot.setSize({ width: Math.max($("chart").clientWidth, 300), height: 240 });
  });

  function renderAll() {
    renderCards();
    renderChannels();
    renderTable();
    rebuildChart();
  }

  // --- events -----------------------------------------------------------------------
  function addTick(tick) {
    state.ticks.push({ at: Date.parse(tick.at) / 1000, rates: tick.rates || {} });
    if (state.ticks.length > MAX_TICKS) state.ticks.splice(0, state.ticks.length - MAX_TICKS);
    for (const c of Object.keys(tick.rates || {})) state.channels.add(c);
    state.lastTick = tick;
  }

  function upsert(row) {
    const old = state.rows.get(row.id);
    if (old) state.rows.delete(row.id);
    state.rows.set(row.id, Object.assign({}, old || {}, row));
    while (state.rows.size > 500) state.rows.delete(state.rows.keys().next().value);
    if (row.channel) state.channels.add(row.channel);
    return !!old;
  }

  const handlers = {
    resync(data) {
      state.resyncs++;
      state.today = data.today || {};
      state.approvalRate = data.approval_rate;
      state.ticks = [];
      state.lastTick = null;
      for (const k of data.ticks || []) addTick(k);
      state.rows = new Map();
      for (const r of [...(data.latest || [])].reverse()) upsert(r);
      for (const c of data.channels || []) state.channels.add(c);
      renderAll();
    },
    request(data) {
      const known = upsert(data);
      renderChannels();
      if (!known) renderRow(state.rows.get(data.id), "added");
    },
    status(data) {
      upsert(data);
      renderChannels();
      renderRow(state.rows.get(data.id), "changed");
    },
    tick(data) {
      addTick(data);
      state.today = data.today || state.today;
      state.approvalRate = data.approval_rate;
      renderCards();
      renderChannels();
      renderChart();
    },
  };

  let source = null;
  let retryTimer = null;
  function setConnected(ok) {
    state.connected = ok;
    const el = $("conn-state");
    el.dataset.state = ok ? "live" : "connecting";
    el.textContent = t(ok ? "live" : "connecting");
  }
  function connect() {
    clearTimeout(retryTimer);
    const url = "/api/events" +
      (state.lastEventId ? "?lastEventId=" + encodeURIComponent(state.lastEventId) : "");
    source = new EventSource(url);
    source.onopen = () => setConnected(true);
    source.onerror = () => {
      setConnected(false);
      // The browser retries by itself (sending Last-Event-ID) unless the stream is
      // closed for good (e.g. an HTTP error): then reconnect by hand.
      if (source.readyState === EventSource.CLOSED) retryTimer = setTimeout(connect, 2000);
    };
    for (const [name, fn] of Object.entries(handlers)) {
      source.addEventListener(name, (e) => {
        if (e.lastEventId) state.lastEventId = e.lastEventId;
        fn(JSON.parse(e.data));
      });
    }
  }
  // For tests and operators: drop the connection as a network failure would, and
  // come back (resuming after the last event seen).
  window.lastroDisconnect = () => { if (source) source.close(); clearTimeout(retryTimer); setConnected(false); };
  window.lastroConnect = () => { window.lastroDisconnect(); connect(); };

  // --- start ------------------------------------------------------------------------
  $("lang-toggle").addEventListener("click", () => {
    lang = lang === "pt-BR" ? "en" : "pt-BR";
    localStorage.setItem("lastro.lang", lang);
    applyLanguage();
    setConnected(state.connected);
  });
  $("filter-channel").addEventListener("change", () => { renderTable(); renderChart(); });
  $("filter-window").addEventListener("change", () => { renderTable(); renderChart(); });
  applyLanguage();
  setConnected(false);
  connect();
})();
