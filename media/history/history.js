// The history panel's webview: draws what the extension posts (src/host/history-panel.ts,
// HistoryMessage: every provider's uptime and the shown chart; HistoryChartMessage: a chart
// it asked for when the user selected another provider or range) and fetches nothing. Charts are uPlot's, coloured from the theme's
// --vscode-* variables and redrawn when the theme changes; they follow the panel's width.
/* global acquireVsCodeApi, uPlot, document, window, getComputedStyle, ResizeObserver, MutationObserver, requestAnimationFrame, performance */
(function () {
  'use strict';

  const RANGES = ['1h', '24h', '7d', '30d'];
  const CHART_HEIGHT = 220;
  const vscode = acquireVsCodeApi();
  const root = document.getElementById('history-root');
  const saved = vscode.getState() || {};

  /** The last message, what is selected, and the charts on screen. */
  let data;
  /** The charts of the snapshot `data` that have arrived, by `${id} ${range}`. */
  let received = new Map();
  let range = RANGES.includes(saved.range) ? saved.range : '1h';
  let providerId = saved.providerId;
  let charts = [];
  /** Set when data arrives, cleared by the first chart drawn after it. */
  let pendingDraw;
  let view;

  const t = (key) => (data && data.strings[key]) || key;

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === false) continue;
      if (name === 'text') node.textContent = value;
      else if (name === 'class') node.className = value;
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  // ------------------------------------------------------------------ formatting

  const percent = (fraction) => (fraction === undefined || fraction === null ? t('noData') : `${(fraction * 100).toFixed(1)} %`);
  const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  function duration(ms) {
    const minutes = Math.round(ms / 60_000);
    if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
    if (minutes < 60) return `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
    const days = Math.floor(hours / 24);
    return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
  }

  function cause(incident) {
    if (incident.cause === undefined) return t('unknown');
    if (incident.cause === 'manual') return t('manual');
    return t(`kind.${incident.cause}`);
  }

  // ------------------------------------------------------------------ theme

  function colours() {
    const css = getComputedStyle(document.documentElement);
    const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
    const foreground = v('--vscode-charts-foreground', v('--vscode-foreground', '#888888'));
    return {
      foreground,
      grid: v('--vscode-charts-lines', 'rgba(128, 128, 128, 0.35)'),
      p50: v('--vscode-charts-blue', '#3794ff'),
      p95: v('--vscode-charts-orange', '#d18616'),
      p99: v('--vscode-charts-purple', '#b180d7'),
      errors: v('--vscode-charts-red', '#f14c4c'),
      // Per what the circuit's state meant (history-view.ts, HistoryPeriodStatus), as the tree colours it:
      // only an outage is red; rate-limited amber, misconfigured the info colour, isolated neutral.
      bands: {
        down: v('--vscode-charts-red', '#f14c4c'),
        'rate-limited': v('--vscode-charts-yellow', '#cca700'),
        misconfigured: v('--vscode-notificationsInfoIcon-foreground', '#3794ff'),
        isolated: v('--vscode-disabledForeground', '#888888'),
      },
      font: `11px ${v('--vscode-font-family', 'sans-serif')}`,
      highContrast: document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light'),
    };
  }

  // ------------------------------------------------------------------ charts

  function axes(c, format) {
    const axis = { stroke: c.foreground, font: c.font, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid, width: 1 } };
    return [axis, { ...axis, size: 60, values: (u, values) => values.map(format) }];
  }

  /** Shades the periods the circuit was not closed, under the grid and the lines, each in its status's colour. */
  function bandsHook(bands, colours) {
    return (u) => {
      if (bands.length === 0) return;
      const { ctx, bbox } = u;
      ctx.save();
      ctx.globalAlpha = 0.18;
      for (const [start, end, status] of bands) {
        ctx.fillStyle = colours[status] || colours.down;
        const x0 = u.valToPos(start, 'x', true);
        const x1 = u.valToPos(end, 'x', true);
        ctx.fillRect(x0, bbox.top, Math.max(1, x1 - x0), bbox.height);
      }
      ctx.restore();
    };
  }

  function markDrawn() {
    if (!pendingDraw) return;
    const { postedAt, received } = pendingDraw;
    pendingDraw = undefined;
    // Read by the e2e test: from the extension's postMessage to this first chart on screen.
    document.body.dataset.firstChartMs = String(Date.now() - postedAt);
    document.body.dataset.firstChartAfterReceiptMs = (performance.now() - received).toFixed(1);
  }

  /** Each point's start in seconds (as uPlot wants): the extension posts only the window and the point width. */
  function xValues(chartData) {
    const x = new Array(chartData.p50.length);
    for (let i = 0; i < x.length; i++) x[i] = (chartData.from + i * chartData.pointMs) / 1000;
    return x;
  }

  function chart(container, chartData, x, options) {
    const c = colours();
    const width = Math.max(200, container.clientWidth);
    const plot = new uPlot(
      {
        width,
        height: CHART_HEIGHT,
        scales: { x: { time: true, range: [chartData.from / 1000, chartData.to / 1000] }, y: options.y },
        axes: axes(c, options.format),
        series: [{}, ...options.series(c)],
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
        hooks: { drawClear: [bandsHook(chartData.bands, c.bands)], draw: [markDrawn] },
      },
      [x, ...options.values(chartData)],
      container,
    );
    charts.push({ plot, container });
    return plot;
  }

  function line(label, stroke, c, format) {
    return { label, stroke, width: c.highContrast ? 2.5 : 1.5, spanGaps: false, value: (u, v) => (v === null || v === undefined ? '—' : format(v)) };
  }

  const ms = (v) => `${Math.round(v)} ms`;
  const rate = (v) => `${(v * 100).toFixed(v < 0.1 && v > 0 ? 1 : 0)} %`;

  const chartOf = (provider) => received.get(`${provider.id} ${range}`);

  /** Draws the selected provider's charts over the selected range; when they have not arrived yet, asks for them. */
  function drawCharts(provider) {
    for (const { plot } of charts) plot.destroy();
    charts = [];
    const chartData = chartOf(provider);
    view.latency.setAttribute('aria-busy', String(!chartData));
    view.errors.setAttribute('aria-busy', String(!chartData));
    if (!chartData) {
      view.latency.setAttribute('aria-label', t('loading'));
      view.errors.setAttribute('aria-label', t('loading'));
      delete view.errors.dataset.bands;
      vscode.postMessage({ type: 'chart', id: provider.id, range });
      return;
    }
    const x = xValues(chartData);
    chart(view.latency, chartData, x, {
      y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] },
      format: ms,
      series: (c) => [line('p50', c.p50, c, ms), line('p95', c.p95, c, ms), line('p99', c.p99, c, ms)],
      values: (d) => [d.p50, d.p95, d.p99],
    });
    chart(view.errors, chartData, x, {
      y: { range: [0, 1] },
      format: rate,
      series: (c) => [line(t('errors'), c.errors, c, rate)],
      values: (d) => [d.errorRate],
    });
    // What the canvas shows, readable by tests and assistive technology alike.
    view.errors.dataset.bands = String(chartData.bands.length);
    const worst = chartData.p95.reduce((m, v) => (v !== null && v > m ? v : m), 0);
    view.latency.setAttribute('aria-label', `${t('latency')}: ${t(range)}, p95 ≤ ${Math.round(worst)} ms`);
    view.errors.setAttribute('aria-label', `${t('errorRate')}: ${t(range)}, ${t('uptime')} ${percent(chartData.uptime)}`);
  }

  function resizeCharts() {
    for (const { plot, container } of charts) {
      const width = Math.max(200, container.clientWidth);
      if (plot.width !== width) plot.setSize({ width, height: CHART_HEIGHT });
    }
  }

  // ------------------------------------------------------------------ page

  function selectedProvider() {
    return data.providers.find((p) => p.id === providerId) || data.providers[0];
  }

  function build() {
    root.replaceChildren();
    root.removeAttribute('aria-busy');
    root.append(el('h1', { text: t('title') }));
    if (data.providers.length === 0) {
      root.append(el('p', { class: 'muted', id: 'no-history', text: t('noProviders') }));
      view = undefined;
      return;
    }

    const select = el('select', { id: 'provider' });
    for (const p of data.providers) select.append(el('option', { value: p.id, text: p.label }));
    select.addEventListener('change', () => choose(select.value, range));

    const radios = el('div', { role: 'radiogroup', 'aria-label': t('range'), id: 'range' });
    for (const r of RANGES) {
      const radio = el('button', { role: 'radio', 'data-range': r, text: t(r) });
      radio.addEventListener('click', () => choose(providerId, r));
      radios.append(radio);
    }
    radios.addEventListener('keydown', (event) => {
      const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
      let next;
      if (step) next = RANGES[(RANGES.indexOf(range) + step + RANGES.length) % RANGES.length];
      else if (event.key === 'Home') next = RANGES[0];
      else if (event.key === 'End') next = RANGES[RANGES.length - 1];
      if (!next) return;
      event.preventDefault();
      choose(providerId, next);
      radios.querySelector(`[data-range="${next}"]`).focus();
    });

    const refresh = el('button', { id: 'refresh', text: t('refresh') });
    refresh.addEventListener('click', () => vscode.postMessage({ type: 'refresh', id: providerId, range }));

    root.append(
      el('div', { class: 'toolbar' }, el('span', {}, el('label', { for: 'provider', text: t('provider') }), select), radios, refresh),
    );

    const uptime = el('table', { id: 'uptime' }, el('caption', { text: t('uptimeCaption') }));
    const head = el('tr', {}, el('th', { scope: 'col', text: t('provider') }));
    for (const r of RANGES) head.append(el('th', { scope: 'col', class: 'number', text: t(r) }));
    uptime.append(el('thead', {}, head));
    const body = el('tbody');
    for (const p of data.providers) {
      const name = el('button', { text: p.label, 'aria-label': `${t('provider')} ${p.label}` });
      name.addEventListener('click', () => choose(p.id, range));
      const row = el('tr', { class: 'selectable', 'data-provider': p.id }, el('th', { scope: 'row' }, name));
      for (const r of RANGES) row.append(el('td', { class: 'number', 'data-range': r, text: percent(p.uptime[r].uptime) }));
      body.append(row);
    }
    uptime.append(body);
    root.append(uptime);

    const heading = el('h2', { id: 'chart-heading' });
    const latency = el('div', { class: 'chart', id: 'latency-chart', role: 'img' });
    const errors = el('div', { class: 'chart', id: 'error-chart', role: 'img' });
    const incidents = el('div', { id: 'incidents' });
    root.append(
      heading,
      el('h2', { text: t('latency') }),
      latency,
      el('h2', { text: t('errorRate') }),
      errors,
      el('h2', { text: t('incidents') }),
      incidents,
    );
    view = { select, radios, body, heading, latency, errors, incidents };
    new ResizeObserver(() => resizeCharts()).observe(latency);
  }

  function drawIncidents(provider) {
    const chartData = chartOf(provider);
    if (!chartData) {
      view.incidents.replaceChildren(el('p', { class: 'muted loading', text: t('loading') }));
      return;
    }
    const list = chartData.incidents.slice().reverse();
    if (list.length === 0) {
      view.incidents.replaceChildren(el('p', { class: 'muted', text: t('noIncidents') }));
      return;
    }
    const table = el('table', { id: 'incident-table' }, el('caption', { text: `${t('incidents')}: ${provider.label}, ${t(range)}` }));
    table.append(
      el(
        'thead',
        {},
        el('tr', {}, el('th', { scope: 'col', text: t('opened') }), el('th', { scope: 'col', text: t('cause') }), el('th', { scope: 'col', class: 'number', text: t('duration') }), el('th', { scope: 'col', text: t('closed') })),
      ),
    );
    const body = el('tbody');
    for (const incident of list) {
      body.append(
        el(
          'tr',
          { class: 'incident' },
          el('td', { text: dateTime.format(incident.openedAt) }),
          el('td', { text: cause(incident) }),
          el('td', { class: 'number', text: duration(incident.durationMs) }),
          el('td', { text: incident.closedAt === undefined ? t('ongoing') : dateTime.format(incident.closedAt) }),
        ),
      );
    }
    table.append(body);
    view.incidents.replaceChildren(table);
  }

  /** Shows `id` over `r`: the selection, the charts and the incidents. */
  function choose(id, r) {
    range = r;
    providerId = id;
    vscode.setState({ range, providerId });
    if (!view) return;
    const provider = selectedProvider();
    providerId = provider.id;
    view.select.value = provider.id;
    for (const radio of view.radios.children) {
      const checked = radio.dataset.range === range;
      radio.setAttribute('aria-checked', String(checked));
      radio.tabIndex = checked ? 0 : -1;
    }
    for (const row of view.body.children) row.classList.toggle('selected', row.dataset.provider === provider.id);
    view.heading.textContent = `${provider.label}: ${t('uptime')} ${percent(provider.uptime[range].uptime)} (${t(range)})`;
    drawCharts(provider);
    drawIncidents(provider);
  }

  // ------------------------------------------------------------------ wiring

  /** Keeps a chart of the current snapshot; one of an older snapshot is dropped. */
  function keep(message) {
    if (!message || !data || message.now !== data.now) return false;
    received.set(`${message.id} ${message.chart.range}`, message.chart);
    return true;
  }

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (!message) return;
    if (message.type === 'chart') {
      // Drawn only when it is still what is selected.
      if (keep(message) && view && message.id === selectedProvider().id && message.chart.range === range) {
        drawCharts(selectedProvider());
        drawIncidents(selectedProvider());
      }
      return;
    }
    if (message.type !== 'history') return;
    pendingDraw = { postedAt: message.postedAt, received: performance.now() };
    data = message;
    received = new Map();
    keep(message.chart);
    // The extension posts the chart of what it was told is shown (or of the provider asked for).
    if (message.focus !== undefined) providerId = message.focus;
    else if (message.chart && !data.providers.some((p) => p.id === providerId)) providerId = message.chart.id;
    build();
    if (view) choose(providerId, range);
    else markDrawn();
  });

  // The theme's variables change with the body's class (vscode-light, vscode-dark, vscode-high-contrast).
  let recolour = 0;
  const onTheme = () => {
    if (recolour) return;
    recolour = requestAnimationFrame(() => {
      recolour = 0;
      if (view && data) drawCharts(selectedProvider());
    });
  };
  new MutationObserver(onTheme).observe(document.body, { attributes: true, attributeFilter: ['class'] });
  new MutationObserver(onTheme).observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });

  vscode.postMessage({ type: 'ready', id: providerId, range });
})();
