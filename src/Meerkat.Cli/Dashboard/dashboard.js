// The live dashboard: figures pushed every second over Server-Sent Events (/api/live), drawn into
// the cards and a canvas chart (no library, no CDN). document.body.dataset.updates counts the
// snapshots received, for tests.
(() => {
  'use strict';
  const points = [];
  const maxPoints = 120;
  const $ = id => document.getElementById(id);

  const number = v => v >= 1e6 ? (v / 1e6).toFixed(2) + ' M' : v >= 1e4 ? (v / 1e3).toFixed(1) + ' k' : Math.round(v).toLocaleString('en');
  const bytes = v => v >= 1 << 30 ? (v / (1 << 30)).toFixed(2) + ' GiB/s' : v >= 1 << 20 ? (v / (1 << 20)).toFixed(2) + ' MiB/s'
    : v >= 1024 ? (v / 1024).toFixed(1) + ' KiB/s' : Math.round(v) + ' B/s';
  const ms = v => v === 0 ? '–' : v < 1 ? Math.round(v * 1000) + ' µs' : v < 100 ? v.toFixed(2) + ' ms' : Math.round(v) + ' ms';

  // A latency scale's label: 0, 250 µs, 2.5 ms, 50 ms (no trailing zeros).
  const tick = v => v === 0 ? '0' : v < 1 ? Math.round(v * 1000) + ' µs' : Number(v.toPrecision(3)) + ' ms';

  function show(s) {
    $('m-rps').textContent = number(s.rps);
    $('m-requests').textContent = number(s.requests);
    $('m-conn').textContent = number(s.accepted + s.outbound);
    $('m-accepted').textContent = s.accepted;
    $('m-outbound').textContent = s.outbound;
    $('m-listeners').textContent = s.listeners;
    $('m-bytes').textContent = bytes(s.inBps + s.outBps);
    $('m-in').textContent = bytes(s.inBps);
    $('m-out').textContent = bytes(s.outBps);
    $('m-p50').textContent = ms(s.p50);
    $('m-p99').textContent = ms(s.p99);
    $('m-errors').textContent = number(s.errors);
    $('m-eps').textContent = s.eps.toFixed(1);
    $('m-lag').textContent = ms(s.lagP99);
    $('m-lagmax').textContent = ms(s.lagMax);
  }

  function add(s) {
    points.push(s);
    if (points.length > maxPoints) points.shift();
  }

  function draw() {
    const canvas = $('chart');
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth, height = canvas.clientHeight || 240;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) { canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio); }
    const g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    const left = 54, right = 64, top = 10, bottom = 24;
    const w = width - left - right, h = height - top - bottom;
    const style = getComputedStyle(document.documentElement);
    const line = style.getPropertyValue('--line'), muted = style.getPropertyValue('--muted');
    const rpsMax = niceMax(Math.max(1, ...points.map(p => p.rps)));
    const p99Max = niceMax(Math.max(0.1, ...points.map(p => p.p99)));
    g.font = '11px system-ui, sans-serif';
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = top + h - h * i / 4;
      g.strokeStyle = line; g.beginPath(); g.moveTo(left, y); g.lineTo(left + w, y); g.stroke();
      g.fillStyle = muted;
      g.textAlign = 'right'; g.fillText(number(rpsMax * i / 4), left - 8, y + 4);
      g.textAlign = 'left'; g.fillText(tick(p99Max * i / 4), left + w + 8, y + 4);
    }
    g.textAlign = 'center';
    for (let s = 0; s <= maxPoints; s += 30) g.fillText(s === 0 ? 'now' : '-' + s + ' s', left + w - w * s / (maxPoints - 1), height - 6);
    if (points.length < 2) return;
    const x = i => left + w - (points.length - 1 - i) * w / (maxPoints - 1);
    const accent = style.getPropertyValue('--accent'), accent2 = style.getPropertyValue('--accent2');
    // requests per second: a filled area
    g.beginPath();
    points.forEach((p, i) => { const y = top + h - h * p.rps / rpsMax; i ? g.lineTo(x(i), y) : g.moveTo(x(i), y); });
    g.strokeStyle = accent; g.lineWidth = 2; g.stroke();
    g.lineTo(x(points.length - 1), top + h); g.lineTo(x(0), top + h); g.closePath();
    const fill = g.createLinearGradient(0, top, 0, top + h);
    fill.addColorStop(0, 'rgba(245, 165, 36, .35)'); fill.addColorStop(1, 'rgba(245, 165, 36, 0)');
    g.fillStyle = fill; g.fill();
    // p99 latency: a line on the right-hand scale
    g.beginPath();
    points.forEach((p, i) => { const y = top + h - h * p.p99 / p99Max; i ? g.lineTo(x(i), y) : g.moveTo(x(i), y); });
    g.strokeStyle = accent2; g.lineWidth = 1.5; g.stroke();
  }

  // The top of a scale of four round steps (0, 50, 100, 150, 200 for 190).
  function niceMax(v) {
    const quarter = v / 4, power = Math.pow(10, Math.floor(Math.log10(quarter)));
    for (const step of [1, 2, 2.5, 5, 10]) if (quarter <= step * power) return 4 * step * power;
    return 40 * power;
  }

  function connect() {
    const source = new EventSource('/api/live');
    source.addEventListener('history', e => { JSON.parse(e.data).forEach(add); if (points.length) show(points[points.length - 1]); draw(); });
    source.onmessage = e => {
      const s = JSON.parse(e.data);
      add(s); show(s); draw();
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    };
    source.onopen = () => { $('live-dot').className = 'dot on'; $('live-text').textContent = 'live'; };
    source.onerror = () => { $('live-dot').className = 'dot off'; $('live-text').textContent = 'reconnecting…'; };
  }

  window.addEventListener('resize', draw);
  connect();
  draw();

  // The feature demos: a counting SSE stream and the WebSocket echo.
  const sse = new EventSource('/sse?count=1000&interval=1000');
  sse.onmessage = e => { $('sse').textContent = 'live: ' + e.data; };
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
  ws.onopen = () => { $('ws').textContent = 'connected'; };
  ws.onmessage = e => { $('ws').textContent = 'echo: ' + e.data; };
  ws.onclose = e => { $('ws').textContent = 'closed: ' + e.code + (e.reason ? ' ' + e.reason : ''); };
  $('ws-form').onsubmit = e => { e.preventDefault(); ws.send($('ws-input').value); };
})();
