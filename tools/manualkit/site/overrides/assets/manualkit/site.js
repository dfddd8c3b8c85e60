/*
 * Staff site (manualkit): a printed page is an uncontrolled copy. Every page carries a print mark
 * (非受控（打印件）, document number, version); this fills in the print date, and puts the same
 * line in the top margin of every printed page (@page margin boxes, where the browser has them).
 */
(function () {
  "use strict"

  function today() {
    var d = new Date()
    return d.getFullYear() + "年" + (d.getMonth() + 1) + "月" + d.getDate() + "日"
  }

  function cssString(text) {
    return '"' + text.replace(/["\\]/g, "\\$&").replace(/\n/g, " ") + '"'
  }

  function stamp() {
    var date = today()
    var nodes = document.querySelectorAll(".mk-print-date")
    for (var i = 0; i < nodes.length; i++)
      nodes[i].textContent = date
    var header = document.querySelector(".mk-page-header")
    var mark = document.querySelector(".mk-print-mark")
    if (!header || !mark)
      return
    var parts = []
    var spans = mark.querySelectorAll(":scope > span")
    for (var j = 0; j < spans.length; j++)
      parts.push(spans[j].textContent)
    var line = "非受控（打印件） · " + parts.join(" · ")
    var style = document.getElementById("mk-print-page")
    if (!style) {
      style = document.createElement("style")
      style.id = "mk-print-page"
      document.head.appendChild(style)
    }
    style.textContent =
      "@page { @top-center { content: " + cssString(line) + "; font-size: 8pt; color: #000; } " +
      '@bottom-right { content: "第 " counter(page) " 页 共 " counter(pages) " 页"; font-size: 8pt; color: #000; } }'
  }

  stamp()
  window.addEventListener("beforeprint", stamp)
})()
