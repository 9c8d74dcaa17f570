// ExplorerDecoder: the explorer page's decoder in JavaScript: the weights read from base64, each operation as loops over Float32Arrays, each likelihood's mean image.

extension ExplorerPage {
    /// Reads the JSON and base64 blocks the page embeds (ids model, weights). The layers follow
    /// Sources/VAECore with a batch of one, so planes are (C, H, W) and flatten is a no-op;
    /// `decode(z)` returns the image (C, H, W) in [0, 1].
    static let decoderScript = #"""
"use strict";
const M = JSON.parse(document.getElementById("model").textContent);
const W = (() => {
  const text = atob(document.getElementById("weights").textContent.trim());
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  const view = new DataView(bytes.buffer), out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
})();

// Convolution of x (C, H, Wd) into y (O, OH, OW), weight (O, C, k, k) at w, bias at b (y is
// overwritten): im2col, then y = W·col + b (about twice the speed of direct loops in V8).
function convInto(x, C, H, Wd, y, O, OH, OW, k, s, p, w, b) {
  const P = OH * OW, R = C * k * k, col = new Float32Array(R * P);
  for (let c = 0; c < C; c++) {
    for (let kh = 0; kh < k; kh++) {
      for (let kw = 0; kw < k; kw++) {
        const row = ((c * k + kh) * k + kw) * P;
        const owFirst = Math.max(0, Math.ceil((p - kw) / s)), owLast = Math.min(OW - 1, Math.floor((Wd - 1 + p - kw) / s));
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * s - p + kh;
          if (ih < 0 || ih >= H) continue;
          const to = row + oh * OW, src = (c * H + ih) * Wd - p + kw;
          for (let ow = owFirst; ow <= owLast; ow++) col[to + ow] = x[src + ow * s];
        }
      }
    }
  }
  for (let o = 0; o < O; o++) y.fill(W[b + o], o * P, (o + 1) * P);
  product(y, O, R, P, col, w, R, 1);
}

// out (rows, P) += A·B for B (inner, P) and A(r, i) = W[a + r·ra + i·ia] (a convolution's weight, or
// a transposed one's read across), four rows at a time so each value of B read serves four products.
function product(out, rows, inner, P, B, a, ra, ia) {
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const y0 = r * P, y1 = y0 + P, y2 = y1 + P, y3 = y2 + P;
    for (let i = 0; i < inner; i++) {
      const at = a + r * ra + i * ia, a0 = W[at], a1 = W[at + ra], a2 = W[at + 2 * ra], a3 = W[at + 3 * ra], from = i * P;
      for (let q = 0; q < P; q++) {
        const v = B[from + q];
        out[y0 + q] += a0 * v; out[y1 + q] += a1 * v; out[y2 + q] += a2 * v; out[y3 + q] += a3 * v;
      }
    }
  }
  for (; r < rows; r++) {
    const y0 = r * P;
    for (let i = 0; i < inner; i++) {
      const a0 = W[a + r * ra + i * ia], from = i * P;
      for (let q = 0; q < P; q++) out[y0 + q] += a0 * B[from + q];
    }
  }
}

// Transposed convolution of x (C, H, Wd), weight (C, O, k, k) at w: col (O·k·k, H·Wd) = Wᵀ·x, then
// col2im adds each column value to y[o][ih·s − p + kh][iw·s − p + kw].
function deconv(x, C, H, Wd, O, OH, OW, k, s, p, w) {
  const R = O * k * k, P = H * Wd, col = new Float32Array(R * P), y = new Float32Array(O * OH * OW), b = w + C * R;
  product(col, R, C, P, x, w, 1, R);
  for (let o = 0; o < O; o++) y.fill(W[b + o], o * OH * OW, (o + 1) * OH * OW);
  for (let o = 0; o < O; o++) {
    for (let kh = 0; kh < k; kh++) {
      for (let kw = 0; kw < k; kw++) {
        const from = ((o * k + kh) * k + kw) * P;
        const iwFirst = Math.max(0, Math.ceil((p - kw) / s)), iwLast = Math.min(Wd - 1, Math.floor((OW - 1 + p - kw) / s));
        for (let ih = 0; ih < H; ih++) {
          const oh = ih * s - p + kh;
          if (oh < 0 || oh >= OH) continue;
          const row = (o * OH + oh) * OW - p + kw, src = from + ih * Wd;
          for (let iw = iwFirst; iw <= iwLast; iw++) y[row + iw * s] += col[src + iw];
        }
      }
    }
  }
  return y;
}

const relu = v => (v > 0 ? v : 0);
const silu = v => v / (1 + Math.exp(-v));

function run(op, x) {
  const [C, H, Wd] = op.input, [O, OH, OW] = op.output;
  switch (op.op) {
    case "reshape": return x;
    case "relu": return x.map(relu);
    case "silu": return x.map(silu);
    case "linear": {
      const y = new Float32Array(O), b = op.offset + C * O;
      for (let o = 0; o < O; o++) {
        let sum = 0;
        const row = op.offset + o * C;
        for (let i = 0; i < C; i++) sum += W[row + i] * x[i];
        y[o] = sum + W[b + o];
      }
      return op.relu ? y.map(relu) : y;
    }
    case "conv": {
      const y = new Float32Array(O * OH * OW);
      convInto(x, C, H, Wd, y, O, OH, OW, op.kernel, op.stride, op.padding, op.offset, op.offset + O * C * op.kernel * op.kernel);
      return op.relu ? y.map(relu) : y;
    }
    case "deconv": {
      const y = deconv(x, C, H, Wd, O, OH, OW, op.kernel, op.stride, op.padding, op.offset);
      return op.relu ? y.map(relu) : y;
    }
    case "upsample": {
      const y = new Float32Array(O * OH * OW);
      for (let c = 0; c < C; c++)
        for (let h = 0; h < OH; h++)
          for (let w = 0; w < OW; w++) y[(c * OH + h) * OW + w] = x[(c * H + (h >> 1)) * Wd + (w >> 1)];
      return y;
    }
    case "residual": {
      // x + conv2(act(conv1(act(x)))), both 3×3 stride 1 padding 1, C → C.
      const act = op.activation === "relu" ? relu : silu, n = C * H * Wd, ww = C * C * 9;
      const u = new Float32Array(n), y = new Float32Array(n);
      convInto(x.map(act), C, H, Wd, u, C, H, Wd, 3, 1, 1, op.offset, op.offset + ww);
      convInto(u.map(act), C, H, Wd, y, C, H, Wd, 3, 1, 1, op.offset + ww + C, op.offset + 2 * ww + C);
      for (let i = 0; i < n; i++) y[i] += x[i];
      return y;
    }
  }
  throw new Error("unknown operation " + op.op);
}

// The Bernoulli pixels' autoregressive term (AutoregressiveBernoulliLikelihood.fill): pixels in
// raster order, each from its logit and a masked convolution over the pixels already filled
// (linear with 0 hidden channels: one weight (C, C, taps) at the offset).
function autoregressiveFill(out) {
  const A = M.autoregressive, C = M.channels, S = M.size, P = S * S, r = A.kernel >> 1, hidden = A.hidden;
  const taps = [];
  for (let dy = -r; dy <= 0; dy++) for (let dx = -r; dx <= r; dx++) if (dy < 0 || dx < 0) taps.push([dy, dx]);
  const T = taps.length, R = C * T, inW = A.offset, inB = inW + hidden * R, outW = inB + hidden;
  const img = new Float32Array(C * P), h = new Float32Array(hidden);
  // Σ over the channels and taps of the weights at w times the pixels already filled.
  const unfolded = (w, y, x) => {
    let s = 0;
    for (let c = 0; c < C; c++) {
      for (let t = 0; t < T; t++) {
        const sy = y + taps[t][0], sx = x + taps[t][1];
        if (sy >= 0 && sx >= 0 && sx < S) s += W[w + c * T + t] * img[c * P + sy * S + sx];
      }
    }
    return s;
  };
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      for (let j = 0; j < hidden; j++) h[j] = Math.max(W[inB + j] + unfolded(inW + j * R, y, x), 0);
      for (let c = 0; c < C; c++) {
        let logit = out[c * P + y * S + x];
        for (let j = 0; j < hidden; j++) logit += W[outW + c * hidden + j] * h[j];
        if (hidden === 0) logit += unfolded(inW + c * R, y, x);
        img[c * P + y * S + x] = 1 / (1 + Math.exp(-logit));
      }
    }
  }
  return img;
}

// The likelihood's mean image (C, H, W) in [0, 1] from the decoder's output.
function meanImage(out) {
  const C = M.channels, P = M.size * M.size;
  if (M.likelihood === "bernoulli" && M.autoregressive) return autoregressiveFill(out);
  if (M.likelihood === "bernoulli") return out.map(v => 1 / (1 + Math.exp(-v)));
  if (M.likelihood === "gaussian") return out.map(v => Math.min(Math.max(v, 0), 1));
  // Discretized logistic mixture: Σ_k π_k E_k[x], each channel's expectation that of the logistic
  // clamped to [−1, 1]; G and B shifted by the component's expectations of R and G.
  const K = M.mixtures, per = C === 3 ? 3 : 2, img = new Float32Array(C * P);
  const plane = (c, k) => K + c * per * K + k, e = [0, 0, 0], sums = [0, 0, 0];
  for (let p = 0; p < P; p++) {
    let top = -Infinity, weightSum = 0;
    for (let k = 0; k < K; k++) top = Math.max(top, out[k * P + p]);
    sums.fill(0);
    for (let k = 0; k < K; k++) {
      const weight = Math.exp(out[k * P + p] - top);
      weightSum += weight;
      for (let c = 0; c < C; c++) {
        let m = out[plane(c, k) * P + p];
        const coefficient = j => Math.tanh(out[(plane(j, k) + 2 * K) * P + p]);
        if (c === 1) m += coefficient(0) * e[0];
        if (c === 2) m += coefficient(1) * e[0] + coefficient(2) * e[1];
        const s = Math.exp(Math.max(out[(plane(c, k) + K) * P + p], -7));
        const lu = Math.log1p(Math.exp(-Math.abs((m + 1) / s))), lv = Math.log1p(Math.exp(-Math.abs((m - 1) / s)));
        e[c] = Math.min(Math.max(m, -1), 1) + s * (lu - lv);
        sums[c] += weight * e[c];
      }
    }
    for (let c = 0; c < C; c++) {
      const v = (sums[c] / weightSum + 1) / 2;
      img[c * P + p] = Number.isNaN(v) ? 0.5 : Math.min(Math.max(v, 0), 1);
    }
  }
  return img;
}

function decode(z) {
  let x = Float32Array.from(z);
  for (const op of M.ops) x = run(op, x);
  return meanImage(x);
}
"""#
}
