// The step player: every lab's charts stepped in the browser.
//
// It receives, once per trace, a spec from tracelab.plot.stepping (each chart's
// base figure and per-frame patches, the frames drawn, every step's label) plus
// where to start, and redraws with Plotly.react on every step without asking the
// server. It tells Python the current step (setStateValue "step", 1-based,
// throttled while playing) and chart clicks (setTriggerValue "click").
//
// The same module runs in the standalone HTML export, mounted by a small shim
// that passes the same object Streamlit does.

const SPEEDS = [1, 2, 5, 10, 20]; // steps per second
const BESIDE_EVERY_MS = 200; // while playing, how often the charts beside the first are redrawn
const REPORT_EVERY_MS = 1000; // while playing: how often Python hears the step (its tables then follow)
const REPORT_IDLE_MS = 120; // otherwise: coalesce a burst of clicks

function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__tracelabPlotly) {
    window.__tracelabPlotly = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = new URL(url, document.baseURI).href;
      s.async = true;
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => {
        window.__tracelabPlotly = null;
        reject(new Error("plotly.js could not be loaded from " + s.src));
      };
      document.head.appendChild(s);
    });
  }
  return window.__tracelabPlotly;
}

// Mirrors tracelab.plot.stepping.apply_patch exactly: a frame's figure is the
// figure of the frame before it with the patch's keys set, unset and appended to.
function applyPart(obj, part) {
  const out = Object.assign({}, obj, (part && part.set) || {});
  for (const k of (part && part.unset) || []) delete out[k];
  for (const [k, tail] of Object.entries((part && part.append) || {})) out[k] = concat(out[k], tail);
  return out;
}

function applyPatch(prev, patch) {
  const n = patch.n_data === undefined ? prev.data.length : patch.n_data;
  const traces = patch.data || {};
  const data = [];
  for (let i = 0; i < n; i++) {
    const part = traces[String(i)];
    if (part && part.whole) data.push(Object.assign({}, part.set));
    else if (part) data.push(applyPart(prev.data[i], part));
    else data.push(prev.data[i]);
  }
  return { data, layout: applyPart(prev.layout, patch.layout || {}) };
}

// An array with more values at its end: two plain arrays, or typed arrays
// (decoded from Plotly's {dtype, bdata} JSON) of one type.
function concat(a, b) {
  if (Array.isArray(a)) return a.concat(b);
  const x = values(a);
  const y = values(b);
  const out = new x.constructor(x.length + y.length);
  out.set(x);
  out.set(y, x.length);
  return out;
}

const DTYPES = {
  f8: Float64Array, f4: Float32Array, i4: Int32Array, i2: Int16Array, i1: Int8Array,
  u4: Uint32Array, u2: Uint16Array, u1: Uint8Array, u1c: Uint8ClampedArray,
};

function isTypedSpec(v) {
  return v !== null && typeof v === "object" && typeof v.bdata === "string" && DTYPES[v.dtype] !== undefined;
}

// A trace with Plotly's typed-array JSON decoded, made once per trace object.
// Plotly.react compares arrays by identity: it would decode a {dtype, bdata}
// afresh on every call, see new arrays and redraw the whole chart. Decoded
// once, a trace a step leaves alone keeps its arrays and is not redrawn.
// Arrays are decoded once per array too: a step that recolours the points
// keeps their coordinates.
const decodedTraces = new WeakMap();
const decodedArrays = new WeakMap();

function decodeArray(v) {
  let d = decodedArrays.get(v);
  if (d === undefined) {
    d = values(v);
    if (v.shape !== undefined) {
      const cols = Number(String(v.shape).split(",")[1]);
      const flat = d;
      if (cols > 0) d = Array.from({ length: flat.length / cols }, (_, i) => flat.subarray(i * cols, (i + 1) * cols));
    }
    decodedArrays.set(v, d);
  }
  return d;
}

function decodeDeep(obj) {
  let out = obj;
  for (const [k, v] of Object.entries(obj)) {
    let d = v;
    if (isTypedSpec(v)) {
      d = decodeArray(v);
    } else if (v !== null && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
      d = decodeDeep(v);
    }
    if (d !== v) {
      if (out === obj) out = Object.assign({}, obj);
      out[k] = d;
    }
  }
  return out;
}

function decodedTrace(trace) {
  let d = decodedTraces.get(trace);
  if (d === undefined) {
    d = decodeDeep(trace);
    decodedTraces.set(trace, d);
  }
  return d;
}

// A plain array, or Plotly's typed-array JSON ({dtype, bdata}) decoded.
function values(v) {
  if (!v || Array.isArray(v) || ArrayBuffer.isView(v)) return v || [];
  if (v.bdata !== undefined && DTYPES[v.dtype]) {
    const bin = atob(v.bdata);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new DTYPES[v.dtype](bytes.buffer);
  }
  return [];
}

// A ring around the selected point (the data row whose customdata is `row`) of
// the figure's "points" trace, as a layout shape sized in pixels.
function withRing(fig, row) {
  if (row === null || row === undefined) return fig;
  for (const tr of fig.data) {
    if (!tr.meta || tr.meta.role !== "points") continue;
    const ids = Array.from(values(tr.customdata), (id) => (ArrayBuffer.isView(id) || Array.isArray(id) ? id[0] : id));
    const j = ids.indexOf(row);
    if (j < 0) return fig;
    const x = values(tr.x)[j];
    const y = values(tr.y)[j];
    const ring = {
      type: "circle", xref: tr.xaxis || "x", yref: tr.yaxis || "y",
      xsizemode: "pixel", ysizemode: "pixel", xanchor: x, yanchor: y,
      x0: -9, x1: 9, y0: -9, y1: 9, line: { color: "#111", width: 2.5 },
    };
    const layout = Object.assign({}, fig.layout, { shapes: [...(fig.layout.shapes || []), ring] });
    return { data: fig.data, layout };
  }
  return fig;
}

// A chart's figure at any frame, from the patches in turn. The last figure made
// is kept (stepping on applies one patch) and every CHECKPOINT-th one (stepping
// back or jumping starts from the nearest before it, not from the base).
const CHECKPOINT = 32;

function figures(chart) {
  const marks = new Map([[0, chart.base]]);
  let at = 0;
  let fig = chart.base;
  return (f) => {
    if (f < at) {
      at = Math.floor(f / CHECKPOINT) * CHECKPOINT;
      while (!marks.has(at)) at -= CHECKPOINT;
      fig = marks.get(at);
    }
    while (at < f) {
      at += 1;
      fig = applyPatch(fig, chart.patches[at]);
      if (at % CHECKPOINT === 0) marks.set(at, fig);
    }
    return fig;
  };
}

function frameOf(frames, step) {
  let lo = 0;
  let hi = frames.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (frames[mid] <= step) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function button(label, title, cls) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "tl-btn " + (cls || "");
  b.textContent = label;
  b.title = title;
  b.setAttribute("aria-label", title);
  return b;
}

function buildDom(root, nCharts, widths) {
  // Streamlit keeps the component's <style> in the same parent: replace only our own box.
  for (const old of root.querySelectorAll(":scope > .tl-player")) old.remove();
  const box = document.createElement("div");
  box.className = "tl-player";
  box.tabIndex = 0;

  const bar = document.createElement("div");
  bar.className = "tl-bar";
  const first = button("First", "First step (Home)", "tl-first");
  const prev = button("Prev", "Previous step (←)", "tl-prev");
  const next = button("Next", "Next step (→)", "tl-next tl-primary");
  const last = button("Last", "Last step (End)", "tl-last");
  const play = button("Play", "Play / Pause (space)", "tl-play");
  const speed = document.createElement("select");
  speed.className = "tl-speed";
  speed.title = "Steps per second while playing";
  speed.setAttribute("aria-label", "Speed");
  for (const v of SPEEDS) {
    const o = document.createElement("option");
    o.value = String(v);
    o.textContent = v + " steps/s";
    speed.appendChild(o);
  }
  bar.append(first, prev, next, last, play, speed);

  const slider = document.createElement("input");
  slider.type = "range";
  slider.className = "tl-slider";
  slider.min = "1";
  slider.step = "1";
  slider.setAttribute("aria-label", "Step");

  const label = document.createElement("div");
  label.className = "tl-label";
  label.setAttribute("aria-live", "polite");
  const note = document.createElement("div");
  note.className = "tl-note";

  const charts = document.createElement("div");
  charts.className = "tl-charts";
  charts.style.setProperty(
    "--tl-columns",
    widths.map((w) => `minmax(0, ${w}fr)`).join(" ")
  );
  const divs = [];
  for (let i = 0; i < nCharts; i++) {
    const d = document.createElement("div");
    d.className = "tl-chart";
    d.dataset.chart = String(i);
    // charts past the given widths take a whole row below the others
    if (i >= widths.length) d.classList.add("tl-wide");
    charts.appendChild(d);
    divs.push(d);
  }
  box.append(bar, slider, label, note, charts);
  root.appendChild(box);
  return { box, first, prev, next, last, play, speed, slider, label, note, divs };
}

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  // Python sends the spec as UTF-8 bytes of JSON (no second JSON encoding of a large string).
  const text = data instanceof Uint8Array || data instanceof ArrayBuffer ? new TextDecoder().decode(data) : data;
  const spec = typeof text === "string" ? JSON.parse(text) : text;
  const n = spec.labels.length;
  const ui = buildDom(parentElement, spec.charts.length, spec.widths || spec.charts.map(() => 1));
  const config = Object.assign({ displaylogo: false, responsive: true }, spec.config || {});
  const figureAt = spec.charts.map(figures);

  // The step this mount's student has reached, kept on the page: a full rerun
  // may mount the player afresh with the same data (same mount), and that must
  // not send the student back to the mount's start.
  const kept = (window.__tracelabSteps = window.__tracelabSteps || new Map());
  const keptKey = `${spec.id || ""}#${spec.mount || 0}`;
  for (const k of kept.keys()) if (k !== keptKey && k.startsWith(`${spec.id || ""}#`)) kept.delete(k);
  const clamp = (s) => Math.min(Math.max(s, 0), n - 1);
  let step = clamp(kept.has(keptKey) ? kept.get(keptKey) : (spec.start || 1) - 1);
  let dirty = false; // the drawn frame is stale for another reason (the ring moved)
  let drawing = false;
  let wanted = -1;
  let playing = false;
  let timer = null;
  let tickAt = 0; // when the step being played began
  let reported = spec.start || 1;
  let reportTimer = null;
  let lastReport = 0;
  let plotly = null;
  let alive = true;
  let selected = spec.selected === undefined ? null : spec.selected;
  const speedIndex = Math.max(0, SPEEDS.indexOf(spec.speed || 2));
  ui.speed.value = String(SPEEDS[speedIndex]);
  ui.slider.max = String(n);
  ui.box.dataset.nSteps = String(n);
  ui.box.dataset.specBytes = String(typeof text === "string" ? text.length : 0);
  ui.slider.disabled = n <= 1;

  function report(force) {
    // Python reruns on every report: coalesce bursts, and while playing send
    // the step only every REPORT_EVERY_MS (and once more when play stops).
    const s = step + 1;
    if (s === reported) return;
    const now = performance.now();
    const gap = playing ? REPORT_EVERY_MS : REPORT_IDLE_MS;
    clearTimeout(reportTimer);
    if (force || now - lastReport >= gap) {
      reported = s;
      lastReport = now;
      setStateValue("step", { step: s, mount: spec.mount || 0 });
    } else {
      reportTimer = setTimeout(() => report(true), gap - (now - lastReport));
    }
  }

  // Which frame each chart shows; while playing, the charts beside the first
  // (curves, trees) follow at most every BESIDE_EVERY_MS, so the chart the step
  // is about keeps the pace. Pause, or any other move, draws them all.
  const chartFrame = spec.charts.map(() => -1);
  let besideAt = 0;

  function stale(f) {
    return dirty || chartFrame.some((g) => g !== f);
  }

  async function draw() {
    if (!plotly && playing) return nextTick(); // nothing can be drawn yet: play the labels
    if (!plotly || drawing || !alive) return;
    const f = frameOf(spec.frames, step);
    if (!stale(f)) return;
    drawing = true;
    const ring = dirty;
    dirty = false;
    const t0 = performance.now();
    try {
      // The first chart (the one the step is about) is drawn and painted first;
      // the others follow unless a newer step has come in meanwhile.
      for (let c = 0; c < spec.charts.length; c++) {
        if (c === 0 && chartFrame[0] === f && !ring) continue;
        if (c > 0) {
          if (chartFrame[c] === f) continue;
          if (playing && performance.now() - besideAt < BESIDE_EVERY_MS) continue;
          // A task first: the step's report to Python (Streamlit sends it from a
          // timer task) leaves before this chart is drawn, not after it.
          await new Promise((r) => setTimeout(r, 0));
          await new Promise((r) => requestAnimationFrame(r));
          if (!alive || frameOf(spec.frames, step) !== f) break;
          besideAt = performance.now();
        }
        let fig = figureAt[c](f);
        fig = { data: fig.data.map(decodedTrace), layout: fig.layout };
        if (c === 0) fig = withRing(fig, selected);
        // Plotly keeps the layout it is given and a window resize (responsive) deletes
        // its height: a copy keeps the frames intact, and a box as tall as the figure
        // is the height such a resize then finds (not a collapsed, auto-height box).
        const layout = Object.assign({}, fig.layout);
        if (layout.height) ui.divs[c].style.height = layout.height + "px";
        await plotly.react(ui.divs[c], fig.data, layout, config);
        chartFrame[c] = f;
        ui.divs[c].dataset.drawnStep = String(spec.frames[f] + 1);
        if (c === 0) {
          ui.box.dataset.drawMs = String(Math.round(performance.now() - t0));
          ui.box.dispatchEvent(new CustomEvent("tracelab:drawn", { bubbles: true }));
        }
      }
      if (chartFrame.every((g) => g === f)) ui.box.dataset.drawnStep = String(spec.frames[f] + 1);
    } catch (err) {
      ui.note.textContent = "The chart could not be drawn: " + err;
    }
    drawing = false;
    // Always the newest: a step that came in while drawing is drawn now (while
    // playing, only the first chart must keep up).
    const now = frameOf(spec.frames, step);
    if (alive && (dirty || chartFrame[0] !== now || (!playing && stale(now)))) requestAnimationFrame(draw);
    else nextTick();
  }

  function show() {
    const s = step + 1;
    ui.label.innerHTML = "";
    const strong = document.createElement("strong");
    strong.textContent = `Step ${s}/${n}`;
    ui.label.append(strong, document.createTextNode(" · " + spec.labels[step]));
    const f = frameOf(spec.frames, step);
    const notes = [...(spec.notes || [])];
    if (spec.frames[f] !== step) notes.push(`The chart shows step ${spec.frames[f] + 1}, the last drawn step before this one.`);
    ui.note.textContent = notes.join(" ");
    ui.slider.value = String(s);
    ui.box.dataset.step = String(s);
    ui.first.disabled = ui.prev.disabled = step <= 0;
    ui.next.disabled = ui.last.disabled = step >= n - 1;
    ui.play.textContent = playing ? "Pause" : "Play";
    ui.play.classList.toggle("tl-primary", playing);
    draw();
  }

  function go(s) {
    s = clamp(s);
    if (s === step) return;
    step = s;
    kept.set(keptKey, step);
    // The report first: Streamlit sends it in a task of its own (setTimeout 0),
    // so Python's rerun starts once the first chart is drawn, not after both.
    report(false);
    show();
  }

  function stop() {
    playing = false;
    clearTimeout(timer);
    show();
    report(true);
  }

  // Play moves one step at a time, each once its charts are drawn: at most
  // the chosen speed, never a step the student did not see. The next step is
  // due one period after this one began, so drawing time is not added to it.
  function nextTick() {
    if (!playing || !alive) return;
    clearTimeout(timer);
    const period = 1000 / Number(ui.speed.value);
    timer = setTimeout(tick, Math.max(0, tickAt + period - performance.now()));
  }

  function tick() {
    if (!playing || !alive) return;
    if (step >= n - 1) return stop();
    tickAt = performance.now();
    go(step + 1);
    // A step drawn by the same frame as the one before (a thinned run) has nothing to wait for.
    if (!stale(frameOf(spec.frames, step))) nextTick();
  }

  function togglePlay() {
    if (playing) return stop();
    if (n <= 1) return;
    playing = true;
    if (step >= n - 1) go(0); // from the start at the end, as a video player does
    show();
    tickAt = performance.now();
    nextTick();
  }

  ui.first.onclick = () => go(0);
  ui.prev.onclick = () => go(step - 1);
  ui.next.onclick = () => go(step + 1);
  ui.last.onclick = () => go(n - 1);
  ui.play.onclick = togglePlay;
  ui.slider.oninput = () => go(Number(ui.slider.value) - 1);
  ui.speed.onchange = () => setStateValue("speed", Number(ui.speed.value));

  function onKey(e) {
    // The keys step the player when nothing else has the focus (or the player
    // itself has it); a focused control elsewhere (a slider, a number box, a
    // menu) keeps its own arrow keys.
    const t = document.activeElement;
    const control = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON|A)$/.test(el.tagName) ||
      /^(slider|spinbutton|textbox|combobox|listbox|option|radio|checkbox|switch|tab|menuitem|button)$/.test(el.getAttribute("role") || ""));
    const mine = t && ui.box.contains(t);
    const busy = mine ? t.tagName === "SELECT" : control(t);
    if (busy || e.altKey || e.ctrlKey || e.metaKey) return;
    const keys = {
      ArrowRight: () => go(step + 1),
      ArrowLeft: () => go(step - 1),
      Home: () => go(0),
      End: () => go(n - 1),
      " ": togglePlay,
    };
    const act = keys[e.key];
    if (!act) return;
    e.preventDefault();
    act();
  }
  document.addEventListener("keydown", onKey);

  const resize = new ResizeObserver(() => {
    if (plotly) for (const d of ui.divs) if (d.data) plotly.Plots.resize(d);
  });
  resize.observe(ui.box);

  show();
  if (step + 1 !== reported) report(true); // a kept step Python may not have heard of
  loadPlotly(spec.plotly_url || "app/static/plotly.min.js").then((P) => {
    plotly = P;
    if (!alive) return;
    draw();
    for (const c of spec.clickable || []) {
      ui.divs[c].on("plotly_click", (ev) => {
        const pt = ev && ev.points && ev.points[0];
        if (!pt) return;
        const meta = pt.data && pt.data.meta;
        if (c === 0 && meta && meta.role === "points" && Number.isInteger(pt.customdata)) {
          // Ring the chosen point at once; Python hears of it and updates what depends on it.
          selected = pt.customdata;
          dirty = true;
          draw();
        }
        if (!setTriggerValue) return;
        setTriggerValue("click", {
          chart: c,
          curve: pt.curveNumber,
          point: pt.pointNumber === undefined ? null : pt.pointNumber,
          customdata: pt.customdata === undefined ? null : pt.customdata,
          role: meta && meta.role ? String(meta.role) : null,
          x: pt.x,
          y: pt.y,
        });
      });
    }
  }, (err) => {
    ui.note.textContent = String(err.message || err);
  });

  return () => {
    alive = false;
    playing = false;
    clearTimeout(timer);
    clearTimeout(reportTimer);
    document.removeEventListener("keydown", onKey);
    resize.disconnect();
    if (plotly) for (const d of ui.divs) plotly.purge(d);
  };
}
