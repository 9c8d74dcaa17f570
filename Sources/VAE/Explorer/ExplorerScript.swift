// ExplorerScript: the explorer page's controls: the canvas, a slider per latent unit, draws from the priors, the strip of data images, the test hook.

extension ExplorerPage {
    /// Runs after decoderScript, in the same script element. `#z=v1,v2,…` in the address sets the code on load and writes the
    /// decoded pixels into <pre id="pixels"> (the test reads them with chromium --dump-dom).
    static let script = #"""
const D = JSON.parse(document.getElementById("data").textContent);

// Planes (C, H, W) in [0, 1] → canvas pixels, rounded as the PNG writer rounds.
function paint(canvas, img) {
  const n = M.size * M.size, ctx = canvas.getContext("2d"), data = ctx.createImageData(M.size, M.size);
  const byte = v => Math.floor(Math.min(Math.max(v, 0), 1) * 255 + 0.5);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) data.data[4 * i + c] = byte(img[(M.channels === 3 ? c : 0) * n + i]);
    data.data[4 * i + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
}

const z = new Float64Array(M.latent), sliders = [], picks = [];
const $ = id => document.getElementById(id);

function render() {
  const start = performance.now(), img = decode(z);
  paint($("view"), img);
  $("timing").textContent = (performance.now() - start).toFixed(1) + " ms per decode";
}

let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; render(); });
}

function setLatent(values) {
  for (let j = 0; j < M.latent; j++) { z[j] = values[j]; sliders[j].value = values[j]; sliders[j].title = values[j].toFixed(2); }
  render();
}
window.setLatent = setLatent;

function gaussian() {
  let u = 0;
  while (u === 0) u = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
}

function build() {
  $("summary").textContent = D.summary;
  $("view").width = $("view").height = M.size;
  // Painted with putImageData only: a canvas kept in memory is the fast one for that (and for reading it back).
  $("view").getContext("2d", { willReadFrequently: true });
  const scale = Math.max(1, Math.floor(320 / M.size));
  $("view").style.width = $("view").style.height = M.size * scale + "px";
  const order = D.order, activeCount = D.active.filter(a => a).length;
  for (const j of order) {
    const row = document.createElement("label"), slider = document.createElement("input");
    row.className = "unit";
    slider.type = "range"; slider.min = -3; slider.max = 3; slider.step = 0.01; slider.value = 0;
    slider.addEventListener("input", () => { z[j] = parseFloat(slider.value); slider.title = slider.value; schedule(); });
    sliders[j] = slider;
    row.append("z" + j + " · KL " + D.kl[j].toFixed(2), slider);
    (D.active[j] ? $("active") : $("inactive")).append(row);
  }
  $("activeCount").textContent = activeCount + " of " + M.latent + " units active";
  $("inactiveCount").textContent = (M.latent - activeCount) + " inactive units";
  if (activeCount === M.latent) $("folded").hidden = true;
  $("random").addEventListener("click", () => {
    const t = parseFloat($("temperature").value);
    setLatent(Array.from(z, () => t * gaussian()));
  });
  if (D.prior) {
    // z = μ_k + T·L_k·ε with component k drawn by its weight, as 'vae sample' draws.
    $("fitted").hidden = false;
    $("fitted").addEventListener("click", () => {
      const t = parseFloat($("temperature").value), P = D.prior, L = M.latent, u = Math.random();
      let k = 0, cumulative = P.weights[0];
      while (u >= cumulative && k + 1 < P.weights.length) cumulative += P.weights[++k];
      const eps = Array.from(z, gaussian), draw = [];
      for (let r = 0; r < L; r++) {
        let s = 0;
        for (let c = 0; c <= r; c++) s += P.factors[(k * L + r) * L + c] * eps[c];
        draw.push(P.means[k * L + r] + t * s);
      }
      setLatent(draw);
    });
  }
  $("zero").addEventListener("click", () => setLatent(new Array(M.latent).fill(0)));
  $("temperature").addEventListener("input", () => { $("temperatureValue").textContent = parseFloat($("temperature").value).toFixed(2); });
  $("mix").addEventListener("input", () => {
    if (picks.length < 2) return;
    const t = parseFloat($("mix").value), a = D.codes[picks[0]], b = D.codes[picks[1]];
    for (let j = 0; j < M.latent; j++) { z[j] = (1 - t) * a[j] + t * b[j]; sliders[j].value = z[j]; }
    schedule();
  });
  D.thumbnails.forEach((b64, i) => {
    const canvas = document.createElement("canvas"), text = atob(b64), n = M.size * M.size;
    canvas.width = canvas.height = M.size;
    canvas.title = D.names[i];
    const img = new Float32Array(M.channels * n);
    for (let q = 0; q < img.length; q++) img[q] = text.charCodeAt(q) / 255;
    paint(canvas, img);
    canvas.addEventListener("click", () => {
      picks.push(i);
      if (picks.length > 2) picks.shift();
      document.querySelectorAll("#strip canvas").forEach((c, q) => c.classList.toggle("picked", picks.includes(q)));
      $("pair").textContent = picks.length < 2 ? "pick another image to interpolate"
        : D.names[picks[0]] + " → " + D.names[picks[1]];
      $("mix").disabled = picks.length < 2;
      $("mix").value = picks.length < 2 ? 0 : 1;
      setLatent(D.codes[i]);
    });
    $("strip").append(canvas);
  });
}

build();
const fromAddress = location.hash.match(/^#z=(.*)$/);
if (fromAddress) {
  const values = fromAddress[1].split(",").map(Number);
  if (values.length === M.latent && values.every(Number.isFinite)) {
    setLatent(values);
    const pixels = $("view").getContext("2d").getImageData(0, 0, M.size, M.size).data, out = [];
    for (let i = 0; i < M.size * M.size; i++) for (let c = 0; c < M.channels; c++) out.push(pixels[4 * i + c]);
    const pre = document.createElement("pre");
    pre.id = "pixels"; pre.hidden = true; pre.textContent = out.join(",");
    document.body.append(pre);
  }
} else {
  render();
}
"""#
}
