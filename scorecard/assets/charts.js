/* CX Scorecard: charts are static images on first view; plotly.js (large) is loaded only when
   the reader asks for an interactive chart. Works from file:// and any static host. */
(function () {
  "use strict";
  var loading = null;

  function loadPlotly() {
    if (window.Plotly) return Promise.resolve();
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var root = document.body.getAttribute("data-root") || ".";
        var s = document.createElement("script");
        s.src = root + "/assets/plotly.min.js";
        s.onload = function () { resolve(); };
        s.onerror = function () { loading = null; reject(new Error("plotly.js could not be loaded")); };
        document.head.appendChild(s);
      });
    }
    return loading;
  }

  /* Replace a figure's image by its interactive chart (scripts of a <template> do not run on
     their own: each is recreated). Resolves once the chart is drawn. */
  function activate(figure) {
    if (figure.getAttribute("data-live") === "1") return Promise.resolve();
    var template = figure.querySelector("template.chart-live");
    var button = figure.querySelector(".chart-live-button");
    if (!template) return Promise.resolve();
    if (button) { button.disabled = true; button.textContent = "Loading the interactive chart…"; }
    return loadPlotly().then(function () {
      var content = document.importNode(template.content, true);
      var scripts = Array.prototype.slice.call(content.querySelectorAll("script"));
      var holder = document.createElement("div");
      holder.className = "chart-live-holder";
      holder.appendChild(content);
      var img = figure.querySelector(".chart-image");
      figure.insertBefore(holder, img || template);
      if (img) img.remove();
      scripts.forEach(function (old) {
        var s = document.createElement("script");
        s.textContent = old.textContent;
        old.replaceWith(s);
      });
      figure.setAttribute("data-live", "1");
      figure.classList.remove("chart-static");
      if (button) button.remove();
    }, function (err) {
      if (button) { button.disabled = false; button.textContent = "Interactive chart (could not load, try again)"; }
      throw err;
    });
  }

  function init() {
    var figures = document.querySelectorAll("figure.chart");
    Array.prototype.forEach.call(figures, function (figure) {
      var button = figure.querySelector(".chart-live-button");
      if (!button) return;
      button.hidden = false;
      button.addEventListener("click", function () { activate(figure).catch(function () {}); });
    });
  }

  window.scorecardCharts = {
    activateAll: function () {
      return Promise.all(Array.prototype.map.call(document.querySelectorAll("figure.chart"), activate));
    }
  };
  if (document.readyState !== "loading") init(); else document.addEventListener("DOMContentLoaded", init);
})();
