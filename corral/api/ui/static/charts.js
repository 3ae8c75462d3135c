// Line charts on a plain <canvas>: one series, a zero baseline, the scale's top value as a label.
// Gaps (null) break the line: a TTFT point exists only when a request started in that interval.

function color(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

/** Draw `values` (numbers or null, oldest first) across `slots` x positions; `label` formats the top. */
export function drawLine(canvas, values, { slots, label = String }) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  const w = width / ratio;
  const h = height / ratio;
  ctx.clearRect(0, 0, w, h);

  const finite = values.filter((v) => v !== null && Number.isFinite(v));
  const top = niceCeiling(Math.max(1, ...finite));
  const pad = { left: 6, right: 6, top: 16, bottom: 6 };
  const x = (i) => pad.left + ((w - pad.left - pad.right) * (slots - values.length + i)) / Math.max(1, slots - 1);
  const y = (v) => h - pad.bottom - ((h - pad.top - pad.bottom) * v) / top;

  ctx.strokeStyle = color("--grid", "#ccc");
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const v of [0, top / 2, top]) {
    ctx.moveTo(pad.left, Math.round(y(v)) + 0.5);
    ctx.lineTo(w - pad.right, Math.round(y(v)) + 0.5);
  }
  ctx.stroke();
  ctx.fillStyle = color("--muted", "#666");
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillText(label(top), pad.left, pad.top - 4);

  ctx.strokeStyle = color("--accent", "#2f6f4f");
  ctx.lineWidth = 2;
  ctx.beginPath();
  let drawing = false;
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      drawing = false;
      return;
    }
    if (drawing) ctx.lineTo(x(i), y(v));
    else ctx.moveTo(x(i), y(v));
    drawing = true;
  });
  ctx.stroke();
  ctx.fillStyle = color("--accent", "#2f6f4f");
  values.forEach((v, i) => {
    const isolated = v !== null && (values[i - 1] ?? null) === null && (values[i + 1] ?? null) === null;
    if (isolated) ctx.fillRect(x(i) - 2, y(v) - 2, 4, 4);
  });
}

/** 1, 2, 5 × 10^n at or above `value`. */
function niceCeiling(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}
