/* fangpin charts: bar, line and stacked bar charts drawn as SVG from a JSON data island.
 *
 *   <div class="fp-chart" data-chart="chart-users"></div>
 *   <script type="application/json" id="chart-users">
 *     {"type": "bar", "title": "各角色账户数", "unit": "人",
 *      "labels": ["县级经办", "乡镇专干"], "series": [{"name": "账户", "values": [3, 12]}]}
 *   </script>
 *
 * type: "bar" (grouped when there are several series), "line" or "stacked".
 * "format": "fen" shows integer fen as yuan. Django's json_script filter writes the island.
 * No inline script is needed, so the pages keep a strict Content-Security-Policy.
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var W = 640, H = 300;
  var M = { top: 44, right: 16, bottom: 40, left: 64 };
  var COLORS = ["#1d4e89", "#e07b39", "#3b9c6e", "#a05195", "#d1495b", "#66a0d4", "#8c6d31", "#5f6b7a"];

  function el(name, attrs, parent, text) {
    var node = document.createElementNS(SVG_NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function number(v) { return typeof v === "number" && isFinite(v) ? v : 0; }

  function format(v, spec, axis) {
    if (spec.format === "fen") {
      var yuan = v / 100;
      var digits = axis && Math.round(yuan) === yuan ? 0 : 2;
      return yuan.toLocaleString("zh-CN", { minimumFractionDigits: digits, maximumFractionDigits: digits });
    }
    return Number(v).toLocaleString("zh-CN");
  }

  // A step of 1, 2 or 5 times a power of ten giving about `ticks` grid lines.
  function niceStep(span, ticks) {
    var raw = span / ticks;
    var mag = Math.pow(10, Math.floor(Math.log(raw) / Math.LN10));
    var n = raw / mag;
    var step = n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10;
    return Math.max(step * mag, 1e-9);
  }

  // Rough text width: CJK characters are square, Latin ones about half as wide.
  function textWidth(s, size) {
    var w = 0;
    for (var i = 0; i < s.length; i++) w += s.charCodeAt(i) > 0x2e80 ? size : size * 0.6;
    return w;
  }

  function range(spec, labels, series) {
    var lo = 0, hi = 0;
    labels.forEach(function (_, i) {
      if (spec.type === "stacked") {
        var pos = 0, neg = 0;
        series.forEach(function (s) { var v = number(s.values[i]); if (v >= 0) pos += v; else neg += v; });
        hi = Math.max(hi, pos); lo = Math.min(lo, neg);
      } else {
        series.forEach(function (s) { var v = number(s.values[i]); hi = Math.max(hi, v); lo = Math.min(lo, v); });
      }
    });
    if (hi === lo) hi = lo + 1;
    var step = niceStep(hi - lo, 5);
    // Counts of people or claims: no grid line at 0.2 of a person.
    var whole = series.every(function (s) { return s.values.every(function (v) { return Math.round(number(v)) === number(v); }); });
    if (whole) step = Math.max(1, step);
    return { lo: Math.floor(lo / step) * step, hi: Math.ceil(hi / step) * step, step: step };
  }

  function render(container, spec) {
    var labels = spec.labels || [];
    var series = (spec.series || []).filter(function (s) { return s && s.values; });
    var type = spec.type || "bar";
    var unit = spec.unit || "";
    container.textContent = "";
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": spec.title || "图表" }, container);
    el("text", { x: 8, y: 18, "class": "title" }, svg, (spec.title || "") + (unit ? "（" + unit + "）" : ""));
    if (!labels.length || !series.length) {
      el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", "class": "empty" }, svg, "暂无数据");
      container.setAttribute("data-rendered", "1");
      return svg;
    }

    var pw = W - M.left - M.right, ph = H - M.top - M.bottom;
    var r = range(spec, labels, series);
    function y(v) { return M.top + (r.hi - v) / (r.hi - r.lo) * ph; }

    for (var t = r.lo; t <= r.hi + r.step / 2; t += r.step) {
      el("line", { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t), "class": t === 0 ? "base-line" : "grid-line" }, svg);
      el("text", { x: M.left - 6, y: y(t) + 4, "text-anchor": "end", "class": "tick" }, svg, format(t, spec, true));
    }

    var band = pw / labels.length;
    var widest = labels.reduce(function (m, l) { return Math.max(m, textWidth(String(l), 11)); }, 0);
    var every = Math.max(1, Math.ceil((widest + 6) / band));
    labels.forEach(function (label, i) {
      if (i % every) return;
      el("text", { x: M.left + band * (i + 0.5), y: H - M.bottom + 16, "text-anchor": "middle", "class": "axis" }, svg, String(label));
    });

    function tip(node, i, s, v) {
      el("title", {}, node, labels[i] + (series.length > 1 ? " · " + s.name : "") + "：" + format(v, spec) + unit);
    }

    if (type === "line") {
      series.forEach(function (s, k) {
        var color = s.color || COLORS[k % COLORS.length];
        var d = labels.map(function (_, i) {
          return (i ? "L" : "M") + (M.left + band * (i + 0.5)).toFixed(1) + "," + y(number(s.values[i])).toFixed(1);
        }).join(" ");
        el("path", { d: d, fill: "none", stroke: color, "stroke-width": 2 }, svg);
        labels.forEach(function (_, i) {
          var v = number(s.values[i]);
          tip(el("circle", { cx: M.left + band * (i + 0.5), cy: y(v), r: 3.5, fill: color }, svg), i, s, v);
        });
      });
    } else if (type === "stacked") {
      var width = band * 0.6;
      labels.forEach(function (_, i) {
        var up = 0, down = 0;
        series.forEach(function (s, k) {
          var v = number(s.values[i]);
          var from = v >= 0 ? up : down, to = from + v;
          if (v >= 0) up = to; else down = to;
          if (!v) return;
          var rect = el("rect", {
            x: M.left + band * i + (band - width) / 2, y: y(Math.max(from, to)), width: width,
            height: Math.abs(y(from) - y(to)), fill: s.color || COLORS[k % COLORS.length]
          }, svg);
          tip(rect, i, s, v);
        });
      });
    } else {
      var group = band * 0.7, bar = group / series.length;
      labels.forEach(function (_, i) {
        series.forEach(function (s, k) {
          var v = number(s.values[i]);
          var rect = el("rect", {
            x: M.left + band * i + (band - group) / 2 + bar * k, y: y(Math.max(v, 0)), width: Math.max(bar - 2, 1),
            height: Math.abs(y(v) - y(0)), fill: s.color || COLORS[k % COLORS.length]
          }, svg);
          tip(rect, i, s, v);
          if (series.length === 1 && labels.length <= 12) {
            el("text", { x: M.left + band * (i + 0.5), y: y(Math.max(v, 0)) - 4, "text-anchor": "middle", "class": "tick" }, svg, format(v, spec));
          }
        });
      });
    }

    // Legend, right-aligned on the title's line.
    var x = W - M.right;
    for (var k = series.length - 1; k >= 0; k--) {
      var name = String(series[k].name || "");
      x -= textWidth(name, 12);
      el("text", { x: x, y: 18, "class": "legend" }, svg, name);
      x -= 16;
      el("rect", { x: x, y: 8, width: 11, height: 11, fill: series[k].color || COLORS[k % COLORS.length] }, svg);
      x -= 12;
    }
    container.setAttribute("data-rendered", "1");
    return svg;
  }

  function renderAll(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(function (node) {
      var island = document.getElementById(node.getAttribute("data-chart"));
      if (!island) return;
      try {
        render(node, JSON.parse(island.textContent));
      } catch (e) {
        node.textContent = "图表数据有误";
      }
    });
  }

  window.FangpinChart = { render: render, renderAll: renderAll };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { renderAll(); });
  } else {
    renderAll();
  }
})();
