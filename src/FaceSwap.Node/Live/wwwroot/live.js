// FaceSwapCluster live page: camera → WebSocket (/live/ws, docs/live.md) → swapped, marked frames on a canvas.
// Plain JS, no build step. window.fsc exposes the page's state for tests and for a person in the console.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = 'fsc.live.token';
  const CLIENT_FAULT = new Set([1003, 1007, 1008, 1009]);
  const RETRY = new Set([1001, 1006, 1011, 1012, 1013]);
  const LATENCY_KEEP = 2000;      // latencies kept in window.fsc.latencies
  const FIGURE_WINDOW = 300;      // latencies the p50/p99 shown are taken over
  const STARTED_TIMEOUT_MS = 10000;
  const STOP_TIMEOUT_MS = 3000;

  // ---- Frame barcode (must match tests/FaceSwap.Node.Tests/Browser/FakeCamera.cs exactly) ----------------------
  // Layout in a 640×480 reference frame (other sizes: reference coordinates scaled by width/640, height/480):
  // 20 cells of 12×12 px in one row, top-right: cell k spans x ∈ [392 + 12k, 404 + 12k), y ∈ [8, 20), on a white
  // quiet zone x ∈ [388, 636), y ∈ [4, 24). Cells 0 and 19 are black, 1 and 18 white (guards); cells 2…17 are the
  // 16 bits of the frame index, most significant first, black = 1. A cell's value is the mean luma
  // (0.299 R + 0.587 G + 0.114 B) over its inner 6×6 px (reference x ∈ [cx+3, cx+9), y ∈ [11, 17)), each
  // reference pixel mapped to floor(x·sx), floor(y·sy). Valid when white − black ≥ 64 (black = mean of cells 0, 19;
  // white = mean of cells 1, 18) and every cell, guards included, lies at least (white − black)/4 from their midpoint
  // on its expected side (guards) or either side (data).
  const BC = { refW: 640, refH: 480, x0: 392, y0: 8, cell: 12, cells: 20, inner0: 3, inner1: 9, minContrast: 64 };

  /** Reads the barcode from a 2D context of a width×height image; returns the 16-bit code or -1. */
  function readBarcode(ctx, width, height) {
    const sx = width / BC.refW, sy = height / BC.refH;
    const left = Math.floor(BC.x0 * sx), top = Math.floor(BC.y0 * sy);
    const right = Math.min(width, Math.floor((BC.x0 + BC.cells * BC.cell) * sx) + 1);
    const bottom = Math.min(height, Math.floor((BC.y0 + BC.cell) * sy) + 1);
    if (right <= left || bottom <= top || width < 64 || height < 32) return -1;
    let data;
    try { data = ctx.getImageData(left, top, right - left, bottom - top); } catch (e) { return -1; }
    const w = data.width, px = data.data;
    const values = new Array(BC.cells);
    for (let k = 0; k < BC.cells; k++) {
      const cx = BC.x0 + k * BC.cell;
      let sum = 0, n = 0;
      for (let ry = BC.y0 + BC.inner0; ry < BC.y0 + BC.inner1; ry++) {
        const y = Math.floor(ry * sy) - top;
        for (let rx = cx + BC.inner0; rx < cx + BC.inner1; rx++) {
          const x = Math.floor(rx * sx) - left;
          const i = (y * w + x) * 4;
          sum += 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
          n++;
        }
      }
      values[k] = sum / n;
    }
    const black = (values[0] + values[19]) / 2, white = (values[1] + values[18]) / 2;
    const contrast = white - black;
    if (!(contrast >= BC.minContrast)) return -1;
    const mid = (white + black) / 2, margin = contrast / 4;
    if (values[0] > mid - margin || values[19] > mid - margin) return -1;
    if (values[1] < mid + margin || values[18] < mid + margin) return -1;
    let code = 0;
    for (let b = 0; b < 16; b++) {
      const v = values[2 + b];
      if (Math.abs(v - mid) < margin) return -1;
      code = (code << 1) | (v < mid ? 1 : 0);
    }
    return code;
  }

  // ---- State ------------------------------------------------------------------------------------------------
  const fsc = {
    state: 'idle', reason: '', framesSent: 0, framesShown: 0, failModeShown: 0, localDrops: 0,
    latencies: [], lastStats: null, streamId: null, reconnects: 0, settings: {}, identity: null,
    started: null, lastError: null, readBarcode,
  };
  window.fsc = fsc;

  let ws = null;              // the current socket
  let wantLive = false;       // the person wants a stream (start pressed, stop not)
  let stopping = false;       // stop sent, waiting for stopped/close
  let retryAttempt = 0;       // reconnect attempts since the last started
  let retryTimer = null, captureTimer = null, startedTimer = null, stopTimer = null;
  let isReconnect = false;    // the socket being opened is a reconnect
  let serverError = '';       // the last {"type":"error"} message on this socket
  let pendingSettings = {};   // controls changed by the person, sent with start and on change
  let stream = null;          // the camera MediaStream
  let maxFrameBytes = 1048576, maxFps = 60, fps = 15;
  let lastFrameBytes = 0, encoding = false;
  const captureByCode = new Map();   // barcode → capture time (performance.now())
  const shownTimes = [];             // display times of the last second, for the display fps
  let decodeBusy = false, pendingFrame = null;

  const capCanvas = document.createElement('canvas');
  const capCtx = capCanvas.getContext('2d', { willReadFrequently: true });
  const out = $('output');
  const outCtx = out.getContext('2d', { willReadFrequently: true });

  function setState(state, reason) {
    fsc.state = state;
    $('state').textContent = state;
    if (reason !== undefined) { fsc.reason = reason; $('reason').textContent = reason; }
    $('start').disabled = wantLive;
    $('stop').disabled = !wantLive;
  }

  // ---- Token --------------------------------------------------------------------------------------------------
  function token() { return $('token').value.trim(); }
  function takeTokenFromUrl() {
    const hash = location.hash.replace(/^#/, '');
    const params = new URLSearchParams(hash);
    const fromUrl = params.get('token');
    if (fromUrl) {
      localStorage.setItem(TOKEN_KEY, fromUrl);
      params.delete('token');
      const rest = params.toString();
      history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
    }
    $('token').value = localStorage.getItem(TOKEN_KEY) || '';
  }
  $('token').addEventListener('change', () => {
    const t = token();
    if (t) localStorage.setItem(TOKEN_KEY, t); else localStorage.removeItem(TOKEN_KEY);
    loadIdentities();
  });

  // ---- Identities ---------------------------------------------------------------------------------------------
  async function loadIdentities(select) {
    const status = $('identityStatus');
    const sel = $('identity');
    if (!token()) { status.textContent = 'Enter the live token to load the registered identities.'; return; }
    status.className = 'hint'; status.textContent = 'Loading…';
    try {
      const res = await fetch('/live/identities', { headers: { Authorization: 'Bearer ' + token() }, cache: 'no-store' });
      if (!res.ok) throw new Error(await errorText(res));
      const list = await res.json();
      const keep = select || sel.value;
      sel.textContent = '';
      if (list.length === 0) sel.append(new Option('(no identities registered yet)', ''));
      for (const id of list) {
        const parts = [id.label || id.id];
        if (id.consentBy) parts.push('consent: ' + id.consentBy);
        if (id.expiresAt) parts.push('until ' + String(id.expiresAt).slice(0, 10));
        sel.append(new Option(parts.join(' — '), id.id));
      }
      if (keep && list.some((i) => i.id === keep)) sel.value = keep;
      status.textContent = list.length + ' identit' + (list.length === 1 ? 'y' : 'ies') + ' available.';
    } catch (e) {
      status.className = 'hint error';
      status.textContent = 'Could not load identities: ' + e.message;
    }
  }
  $('reloadIdentities').addEventListener('click', () => loadIdentities());

  async function errorText(res) {
    let text = '';
    try { text = await res.text(); } catch (e) { /* ignore */ }
    try { const j = JSON.parse(text); if (j && j.message) return j.message; } catch (e) { /* not JSON */ }
    return text ? text.slice(0, 300) : res.status + ' ' + res.statusText;
  }

  $('register').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const status = $('registerStatus');
    status.className = 'hint error';
    if (!token()) { status.textContent = 'Enter the live token first.'; return; }
    if (!$('consentConfirm').checked) { status.textContent = 'Tick the consent confirmation: you need the consent of the person shown.'; return; }
    const file = $('photo').files[0];
    if (!file) { status.textContent = 'Choose a photo.'; return; }
    if (!$('consentBy').value.trim()) { status.textContent = 'Name who gave the consent.'; return; }
    const form = new FormData();
    form.append('photo', file, file.name);
    form.append('consentBy', $('consentBy').value.trim());
    form.append('scope', 'stream');
    if ($('expires').value.trim()) form.append('expires', $('expires').value.trim());
    if ($('note').value.trim()) form.append('note', $('note').value.trim());
    status.className = 'hint'; status.textContent = 'Registering…';
    $('registerSubmit').disabled = true;
    try {
      const res = await fetch('/live/identities', { method: 'POST', headers: { Authorization: 'Bearer ' + token() }, body: form });
      if (!res.ok) throw new Error(await errorText(res));
      const body = await res.json();
      await loadIdentities(body.id);
      $('identity').value = body.id;
      status.className = 'hint ok'; status.textContent = 'Registered as ' + body.id + ' and selected.';
      $('register').reset();
    } catch (e) {
      status.className = 'hint error'; status.textContent = 'Not registered: ' + e.message;
    } finally {
      $('registerSubmit').disabled = false;
    }
  });

  // ---- Controls -----------------------------------------------------------------------------------------------
  const CONTROLS = ['selection', 'enhancer', 'enhanceStrength', 'blend', 'color', 'detectEvery', 'failMode', 'label'];
  function readControl(key) {
    const v = $(key).value;
    switch (key) {
      case 'enhancer': return v.trim() === '' ? null : v.trim();
      case 'enhanceStrength': return Math.min(1, Math.max(0, parseFloat(v)));
      case 'detectEvery': return Math.min(60, Math.max(1, parseInt(v, 10) || 1));
      default: return v;
    }
  }
  function reflectSettings(s) {
    if (!s) return;
    for (const key of CONTROLS) {
      if (!(key in s)) continue;
      const el = $(key);
      if (document.activeElement === el && key !== 'enhanceStrength') continue; // do not fight the person typing
      const v = s[key];
      el.value = v === null || v === undefined ? '' : String(v);
    }
    $('enhanceStrengthValue').textContent = $('enhanceStrength').value;
  }
  function onControlChange(key) {
    const value = readControl(key);
    const status = $('controlsStatus');
    if (key === 'label' && (typeof value !== 'string' || value.length < 1 || value.length > 64)) {
      status.className = 'hint error'; status.textContent = 'The label needs 1 to 64 characters (it cannot be turned off).';
      return;
    }
    if (key === 'detectEvery') $(key).value = value;
    status.className = 'hint'; status.textContent = '';
    const change = {}; change[key] = value;
    setSettings(change);
  }
  for (const key of CONTROLS) {
    const el = $(key);
    el.addEventListener('change', () => onControlChange(key));
  }
  $('enhanceStrength').addEventListener('input', () => { $('enhanceStrengthValue').textContent = $('enhanceStrength').value; });

  function setSettings(obj) {
    Object.assign(pendingSettings, obj);
    Object.assign(fsc.settings, obj);
    if (ws && ws.readyState === WebSocket.OPEN && fsc.state === 'live') {
      ws.send(JSON.stringify({ type: 'settings', settings: obj }));
    }
  }

  // ---- Camera -------------------------------------------------------------------------------------------------
  async function ensureCamera() {
    if (stream && stream.getVideoTracks().some((t) => t.readyState === 'live')) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new Error('this browser has no camera access (getUserMedia); open the page over https or localhost');
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    const video = $('camera');
    video.srcObject = stream;
    await video.play().catch(() => { /* autoplay policy: muted video plays anyway */ });
    if (video.readyState < 2) await new Promise((resolve) => video.addEventListener('loadeddata', resolve, { once: true }));
  }
  function stopCamera() {
    if (stream) for (const t of stream.getTracks()) t.stop();
    stream = null;
    $('camera').srcObject = null;
  }

  // ---- Stream -------------------------------------------------------------------------------------------------
  async function start() {
    if (wantLive) return;
    clearTimers();
    if (!token()) { wantLive = false; setState('error', 'enter the live token'); return; }
    const identity = $('identity').value;
    if (!identity) { setState('error', 'choose a registered identity (source face)'); return; }
    fps = Math.min(60, Math.max(1, parseInt($('fps').value, 10) || 15));
    fsc.identity = identity;
    wantLive = true;
    retryAttempt = 0;
    setState('connecting', '');
    try {
      await ensureCamera();
    } catch (e) {
      wantLive = false;
      setState('error', 'camera: ' + (e && e.message ? e.message : e));
      return;
    }
    if (!wantLive) { stopCamera(); return; } // stopped while the camera was starting
    isReconnect = false;
    connect();
  }

  function connect() {
    if (!wantLive) return;
    serverError = '';
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/live/ws';
    let socket;
    try { socket = new WebSocket(url); } catch (e) { scheduleRetry('could not open the WebSocket: ' + e.message); return; }
    socket.binaryType = 'arraybuffer';
    ws = socket;
    socket.onopen = () => {
      if (ws !== socket) return;
      socket.send(JSON.stringify({ type: 'start', token: token(), identity: fsc.identity, fps, client: 'live page', settings: pendingSettings }));
      startedTimer = setTimeout(() => { if (ws === socket && fsc.state !== 'live') socket.close(4000, 'no answer to start'); }, STARTED_TIMEOUT_MS);
    };
    socket.onmessage = (ev) => { if (ws === socket) onMessage(ev.data); };
    socket.onerror = () => { /* onclose follows with the code */ };
    socket.onclose = (ev) => { if (ws === socket) onClose(ev); };
  }

  function onMessage(data) {
    if (typeof data !== 'string') { onFrame(data); return; }
    let msg;
    try { msg = JSON.parse(data); } catch (e) { return; }
    switch (msg.type) {
      case 'started':
        clearTimeout(startedTimer);
        fsc.started = msg;
        fsc.streamId = msg.stream || null;
        $('streamId').textContent = fsc.streamId || '';
        if (msg.maxFrameBytes > 0) maxFrameBytes = msg.maxFrameBytes;
        if (msg.maxFps > 0) { maxFps = msg.maxFps; fps = Math.min(fps, maxFps); }
        if (msg.settings) { Object.assign(fsc.settings, msg.settings); reflectSettings(msg.settings); }
        if (isReconnect) fsc.reconnects++;
        retryAttempt = 0;
        setState('live');
        startCapture();
        break;
      case 'settings':
        if (msg.settings) { fsc.settings = Object.assign({}, msg.settings); reflectSettings(msg.settings); }
        break;
      case 'stats':
        fsc.lastStats = msg;
        renderServerStats(msg);
        break;
      case 'stopped':
        if (msg.stats) fsc.lastStats = Object.assign({}, fsc.lastStats, { final: msg.stats });
        finishStop('stopped by you');
        break;
      case 'error':
        serverError = msg.message || 'error';
        fsc.lastError = serverError;
        break;
      default:
        break;
    }
  }

  function onClose(ev) {
    stopCapture();
    clearTimeout(startedTimer);
    ws = null;
    const why = ev.reason || serverError || describeCode(ev.code);
    const reason = why + ' (' + ev.code + ')';
    if (stopping || !wantLive) { finishStop(stopping ? 'stopped by you' : reason); return; }
    if (CLIENT_FAULT.has(ev.code)) {
      wantLive = false;
      stopCamera();
      setState('error', reason);
      return;
    }
    if (RETRY.has(ev.code) || ev.code === 4000 || !ev.wasClean) { scheduleRetry(reason); return; }
    // 1000 or another code the server chose without our stop: the stream is over.
    wantLive = false;
    stopCamera();
    setState('stopped', reason);
  }

  function describeCode(code) {
    switch (code) {
      case 1000: return 'closed';
      case 1001: return 'the server is going away';
      case 1006: return 'connection lost';
      case 1011: return 'the server could not serve the stream';
      case 1012: return 'the server is restarting';
      case 1013: return 'the server is busy, try again later';
      default: return 'closed';
    }
  }

  function scheduleRetry(reason) {
    retryAttempt++;
    const delay = Math.min(5000, 500 * Math.pow(2, retryAttempt - 1));
    setState('reconnecting', reason);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      if (!wantLive) return;
      isReconnect = true;
      setState('connecting');
      connect();
    }, delay);
  }

  function stop() {
    if (!wantLive && !ws) return Promise.resolve();
    clearTimeout(retryTimer);
    stopCapture();
    const socket = ws;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      if (socket) { try { socket.close(1000, 'stopped by the client'); } catch (e) { /* ignore */ } }
      finishStop('stopped by you');
      return Promise.resolve();
    }
    stopping = true;
    wantLive = false;
    socket.send(JSON.stringify({ type: 'stop' }));
    return new Promise((resolve) => {
      stopTimer = setTimeout(() => {
        try { socket.close(1000, 'stopped by the client'); } catch (e) { /* ignore */ }
        finishStop('stopped by you (the server did not answer)');
      }, STOP_TIMEOUT_MS);
      stopResolvers.push(resolve);
    });
  }
  const stopResolvers = [];

  function finishStop(reason) {
    clearTimeout(stopTimer);
    clearTimeout(retryTimer);
    stopCapture();
    const socket = ws;
    ws = null;
    if (socket && socket.readyState === WebSocket.OPEN) { try { socket.close(1000, 'stopped by the client'); } catch (e) { /* ignore */ } }
    stopping = false;
    wantLive = false;
    stopCamera();
    setState('stopped', reason);
    while (stopResolvers.length) stopResolvers.shift()();
  }

  function clearTimers() {
    clearTimeout(retryTimer); clearTimeout(startedTimer); clearTimeout(stopTimer); stopCapture();
  }

  // ---- Capture and send -----------------------------------------------------------------------------------------
  function startCapture() {
    stopCapture();
    const interval = 1000 / fps;
    let due = performance.now();
    const tick = () => {
      captureTimer = null;
      if (!wantLive || fsc.state !== 'live') return;
      captureOne();
      due += interval;
      const now = performance.now();
      if (due < now - interval) due = now; // fell behind (background tab): do not burst
      captureTimer = setTimeout(tick, Math.max(0, due - now));
    };
    captureTimer = setTimeout(tick, 0);
  }
  function stopCapture() { if (captureTimer) clearTimeout(captureTimer); captureTimer = null; }

  function captureOne() {
    const socket = ws;
    const video = $('camera');
    if (!socket || socket.readyState !== WebSocket.OPEN || video.readyState < 2 || !video.videoWidth) return;
    // Do not queue: a frame still waiting in the socket (or still being encoded) makes this capture stale.
    if (encoding || socket.bufferedAmount > Math.max(1, lastFrameBytes)) { fsc.localDrops++; return; }
    const w = video.videoWidth, h = video.videoHeight;
    if (capCanvas.width !== w || capCanvas.height !== h) { capCanvas.width = w; capCanvas.height = h; }
    capCtx.drawImage(video, 0, 0, w, h);
    const captured = performance.now();
    const code = readBarcode(capCtx, w, h);
    if (code >= 0) {
      const seen = captureByCode.get(code);
      // The same camera frame captured twice: keep its first capture (it was available to us from then on).
      if (seen === undefined || captured - seen > 2000) captureByCode.set(code, captured);
    }
    encoding = true;
    capCanvas.toBlob((blob) => {
      encoding = false;
      if (!blob || ws !== socket || socket.readyState !== WebSocket.OPEN) return;
      if (blob.size + 8 > maxFrameBytes) { fsc.localDrops++; return; }
      blob.arrayBuffer().then((jpeg) => {
        if (ws !== socket || socket.readyState !== WebSocket.OPEN || fsc.state !== 'live') return;
        const message = new Uint8Array(8 + jpeg.byteLength);
        new DataView(message.buffer).setFloat64(0, captured, true);
        message.set(new Uint8Array(jpeg), 8);
        socket.send(message.buffer);
        lastFrameBytes = message.byteLength;
        fsc.framesSent++;
      });
    }, 'image/jpeg', 0.85);
  }

  // ---- Receive and show -----------------------------------------------------------------------------------------
  function onFrame(buffer) {
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength <= 32) return;
    // Keep only the newest frame waiting for decoding: a stale frame is worth nothing.
    pendingFrame = buffer;
    if (!decodeBusy) drawNext();
  }

  async function drawNext() {
    while (pendingFrame) {
      const buffer = pendingFrame;
      pendingFrame = null;
      decodeBusy = true;
      try {
        const view = new DataView(buffer);
        const capture = view.getFloat64(0, true);
        const flags = view.getInt32(16, true);
        const bitmap = await createImageBitmap(new Blob([new Uint8Array(buffer, 32)], { type: 'image/jpeg' }));
        if (out.width !== bitmap.width || out.height !== bitmap.height) { out.width = bitmap.width; out.height = bitmap.height; }
        outCtx.drawImage(bitmap, 0, 0);
        bitmap.close();
        const shown = performance.now();
        fsc.framesShown++;
        if (flags & 1) fsc.failModeShown++;
        shownTimes.push(shown);
        const code = readBarcode(outCtx, out.width, out.height);
        let ms = NaN;
        if (code >= 0 && captureByCode.has(code)) ms = shown - captureByCode.get(code);
        else if (Number.isFinite(capture)) ms = shown - capture;
        if (Number.isFinite(ms)) {
          fsc.latencies.push({ code: code >= 0 && captureByCode.has(code) ? code : null, ms });
          if (fsc.latencies.length > LATENCY_KEEP) fsc.latencies.splice(0, fsc.latencies.length - LATENCY_KEEP);
        }
      } catch (e) {
        // An undecodable frame: skip it (the server's next one replaces it).
      } finally {
        decodeBusy = false;
      }
    }
  }

  // ---- Figures --------------------------------------------------------------------------------------------------
  function quantile(sorted, q) {
    if (sorted.length === 0) return NaN;
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  }
  const f0 = (v) => (Number.isFinite(v) ? v.toFixed(0) : '–');
  const f1 = (v) => (Number.isFinite(v) ? v.toFixed(1) : '–');

  function renderClientFigures() {
    const now = performance.now();
    while (shownTimes.length && shownTimes[0] < now - 1000) shownTimes.shift();
    $('figFps').textContent = String(shownTimes.length);
    const recent = fsc.latencies.slice(-FIGURE_WINDOW).map((l) => l.ms).sort((a, b) => a - b);
    $('figLatency').textContent = recent.length ? f0(quantile(recent, 0.5)) + ' / ' + f0(quantile(recent, 0.99)) + ' ms' : '–';
    $('figFrames').textContent = fsc.framesSent + ' / ' + fsc.framesShown;
    $('figLocalDrops').textContent = String(fsc.localDrops);
    $('figFailMode').textContent = String(fsc.failModeShown);
    $('figReconnects').textContent = String(fsc.reconnects);
    for (const [code, t] of captureByCode) if (now - t > 30000) captureByCode.delete(code);
  }

  function renderServerStats(s) {
    $('figServer').textContent = [f1(s.fps), s.served ?? '–', s.dropped ?? '–', s.failMode ?? '–'].join(' / ');
    const lat = s.latencyMs || {};
    $('figServerLatency').textContent = f0(lat.p50) + ' / ' + f0(lat.p99) + ' ms';
    const body = $('stagesBody');
    body.textContent = '';
    const stages = s.stages || {};
    for (const name of ['detect', 'swap', 'enhance', 'composite', 'encode']) {
      const st = stages[name];
      if (!st) continue;
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row'; th.textContent = name;
      tr.append(th);
      for (const v of [f1(st.p50), f1(st.p99), st.provider || '–', st.worker || '–']) {
        const td = document.createElement('td');
        td.textContent = v;
        tr.append(td);
      }
      body.append(tr);
    }
  }

  // ---- Wiring ---------------------------------------------------------------------------------------------------
  fsc.start = start;
  fsc.stop = stop;
  fsc.setSettings = setSettings;
  $('start').addEventListener('click', () => { start(); });
  $('stop').addEventListener('click', () => { stop(); });
  takeTokenFromUrl();
  setState('idle', '');
  loadIdentities();
  setInterval(renderClientFigures, 500);
})();
