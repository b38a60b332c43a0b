// Audio for live sessions: the microphone's float samples as the protocol's 16-bit PCM in
// base64, and the bot's PCM back to floats for the speakers. Pure.

/** Float32 samples in [-1, 1] → base64 of 16-bit little-endian PCM. */
export function floatToPcm16Base64(samples) {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(i * 2, s < 0 ? Math.round(s * 32768) : Math.round(s * 32767), true);
  }
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** base64 of 16-bit little-endian PCM → Float32 samples. */
export function pcm16Base64ToFloat(b64) {
  const binary = atob(b64);
  const n = binary.length >> 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = binary.charCodeAt(2 * i) | (binary.charCodeAt(2 * i + 1) << 8);
    if (v >= 0x8000) v -= 0x10000;
    out[i] = v / 32768;
  }
  return out;
}

/** Joins Float32 pieces and hands out frames of `size` samples as they fill. */
export function createFramer(size, onFrame) {
  let buf = new Float32Array(size);
  let n = 0;
  return function push(samples) {
    let i = 0;
    while (i < samples.length) {
      const take = Math.min(size - n, samples.length - i);
      buf.set(samples.subarray(i, i + take), n);
      n += take;
      i += take;
      if (n === size) { onFrame(buf); buf = new Float32Array(size); n = 0; }
    }
  };
}
