// The case map, drawn in SVG from the coordinates alone: the track as a line, the
// last fix as a marker inside its accuracy circle, a scale bar. Police networks
// are often closed, so tiles are optional: only when the login reply names a tile
// server (map.tile_url, "{z}/{x}/{y}" placeholders) are tiles laid underneath.
// Web Mercator throughout, so the drawing and the tiles agree.
import { t } from '/common/i18n.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 640;
const H = 400;
const PAD = 36;
const TILE = 256;

function svg(tag, attrs = {}) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

// World pixel coordinates at zoom z.
function project(lat, lon, z) {
  const size = TILE * 2 ** z;
  const s = Math.sin((Math.max(-85, Math.min(85, lat)) * Math.PI) / 180);
  return [((lon + 180) / 360) * size, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * size];
}

function metresPerPixel(lat, z) {
  return (156543.03392 * Math.cos((lat * Math.PI) / 180)) / 2 ** z;
}

export class TrackMap {
  constructor(host, tileUrl) {
    this.host = host;
    this.tileUrl = tileUrl || '';
    this.root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': t("Map of the caller's position") });
    this.root.append(svg('rect', { width: W, height: H, class: 'map-bg' }));
    this.tiles = svg('g', { class: 'tiles' });
    this.track = svg('polyline', { id: 'map-track', class: 'map-track', points: '' });
    this.circle = svg('circle', { id: 'map-accuracy', class: 'map-accuracy', r: 0 });
    this.marker = svg('circle', { id: 'map-marker', class: 'map-marker', r: 6 });
    this.scale = svg('g', { class: 'map-scale' });
    this.root.append(this.tiles, this.track, this.circle, this.marker, this.scale);
    host.replaceChildren(this.root);
    this.fixes = [];
  }

  clear() { this.fixes = []; this.draw(); }

  // After a language switch: the name and the scale's unit in the new language.
  relabel() {
    this.root.setAttribute('aria-label', t("Map of the caller's position"));
    this.draw();
  }

  set(fixes) { this.fixes = fixes.filter((f) => f && Number.isFinite(f.lat)); this.draw(); }

  add(fix) {
    if (!fix || !Number.isFinite(fix.lat)) return;
    this.fixes.push(fix);
    this.draw();
  }

  // The largest zoom at which the track and the last accuracy circle fit.
  zoomFor(last) {
    let minLat = Infinity, maxLat = -Infinity, minLon = Infinity, maxLon = -Infinity;
    for (const f of this.fixes) {
      minLat = Math.min(minLat, f.lat); maxLat = Math.max(maxLat, f.lat);
      minLon = Math.min(minLon, f.lon); maxLon = Math.max(maxLon, f.lon);
    }
    for (let z = 19; z > 1; z--) {
      const [x0, y1] = project(minLat, minLon, z);
      const [x1, y0] = project(maxLat, maxLon, z);
      const r = (last.accuracy || 0) / metresPerPixel(last.lat, z);
      if (x1 - x0 + 2 * r <= W - 2 * PAD && y1 - y0 + 2 * r <= H - 2 * PAD) return { z, cx: (x0 + x1) / 2, cy: (y0 + y1) / 2 };
    }
    const [cx, cy] = project(last.lat, last.lon, 1);
    return { z: 1, cx, cy };
  }

  draw() {
    const last = this.fixes[this.fixes.length - 1];
    this.root.classList.toggle('empty', !last);
    if (!last) {
      this.track.setAttribute('points', '');
      this.marker.setAttribute('visibility', 'hidden');
      this.circle.setAttribute('visibility', 'hidden');
      this.tiles.replaceChildren();
      this.scale.replaceChildren();
      return;
    }
    const { z, cx, cy } = this.zoomFor(last);
    const at = (f) => {
      const [x, y] = project(f.lat, f.lon, z);
      return [x - cx + W / 2, y - cy + H / 2];
    };
    this.drawTiles(z, cx - W / 2, cy - H / 2);
    this.track.setAttribute('points', this.fixes.map((f) => at(f).map((v) => v.toFixed(1)).join(',')).join(' '));
    const [mx, my] = at(last);
    this.marker.setAttribute('cx', mx.toFixed(1));
    this.marker.setAttribute('cy', my.toFixed(1));
    this.marker.setAttribute('visibility', 'visible');
    this.marker.dataset.lat = last.lat;
    this.marker.dataset.lon = last.lon;
    const r = (last.accuracy || 0) / metresPerPixel(last.lat, z);
    this.circle.setAttribute('cx', mx.toFixed(1));
    this.circle.setAttribute('cy', my.toFixed(1));
    this.circle.setAttribute('r', Math.max(r, 0).toFixed(1));
    this.circle.setAttribute('visibility', 'visible');
    this.drawScale(metresPerPixel(last.lat, z));
  }

  drawScale(mpp) {
    const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000];
    const metres = steps.find((m) => m / mpp >= 60) || steps[steps.length - 1];
    const px = metres / mpp;
    const x = 16, y = H - 18;
    const label = metres >= 1000 ? t('{n} km', { n: metres / 1000 }) : t('{n} m', { n: metres });
    const text = svg('text', { x, y: y - 8, class: 'map-scale-text' });
    text.textContent = label;
    this.scale.replaceChildren(svg('rect', { x: x - 6, y: y - 26, width: px + 12, height: 34, class: 'map-scale-bg' }),
                               svg('line', { x1: x, y1: y, x2: x + px, y2: y, class: 'map-scale-line' }), text);
  }

  drawTiles(z, left, top) {
    if (!this.tileUrl) { this.tiles.replaceChildren(); return; }
    const n = 2 ** z;
    const imgs = [];
    for (let tx = Math.floor(left / TILE); tx <= Math.floor((left + W) / TILE); tx++) {
      for (let ty = Math.floor(top / TILE); ty <= Math.floor((top + H) / TILE); ty++) {
        if (ty < 0 || ty >= n) continue;
        const wx = ((tx % n) + n) % n;
        const href = this.tileUrl.replace('{z}', z).replace('{x}', wx).replace('{y}', ty);
        imgs.push(svg('image', { href, x: tx * TILE - left, y: ty * TILE - top, width: TILE, height: TILE }));
      }
    }
    this.tiles.replaceChildren(...imgs);
  }
}
