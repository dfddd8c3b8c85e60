/*
 * Staff site (manualkit), when script runs. The site works without it; this adds two things:
 *
 * - the print date: a printed page carries 非受控（打印件）, the document number and version on every
 *   sheet (CSS only); without script its date is the day the site was generated (site-date.css),
 *   with script it is today's date, 打印日期 …;
 * - 查看某日有效的版本: the date field of the version list above each page. The list items carry each
 *   version's period (data-mk-from, data-mk-until: the first day it no longer applies) and where
 *   the same page is in that version (data-mk-href); a date goes to the version in force that day.
 *   Pages of superseded versions are built once and kept, so their lists (ul[data-mk-list]) are
 *   filled here from the versions of the whole site (versions.js at the top of the site).
 */
(function () {
  "use strict"

  function prose(d) {
    return d.getFullYear() + "年" + (d.getMonth() + 1) + "月" + d.getDate() + "日"
  }

  function stamp() {
    var nodes = document.querySelectorAll(".mk-print-date")
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = "打印日期 " + prose(new Date())
      nodes[i].classList.add("mk-print-date--today")
    }
  }

  function proseIso(iso) {
    var p = iso.split("-")
    return Number(p[0]) + "年" + Number(p[1]) + "月" + Number(p[2]) + "日"
  }

  /* The version in force on ``day`` (YYYY-MM-DD; such strings order as dates do) */
  function versionOn(items, day) {
    for (var i = 0; i < items.length; i++) {
      var from = items[i].getAttribute("data-mk-from")
      var until = items[i].getAttribute("data-mk-until")
      if (from <= day && (!until || day < until))
        return items[i]
    }
    return null
  }

  /* The items of a list of versions, as manualkit.site.pages.version_items writes them */
  function fill(list) {
    var versions = window.manualkitVersions || []
    var root = list.getAttribute("data-mk-root") || ""
    var name = list.getAttribute("data-mk-page") || "index.html"
    var current = list.getAttribute("data-mk-current")
    versions.forEach(function (v) {
      var href = root + v.prefix + (v.chapters.indexOf(name) >= 0 ? name : "index.html")
      var li = document.createElement("li")
      li.setAttribute("data-mk-from", v.from)
      li.setAttribute("data-mk-until", v.until)
      li.setAttribute("data-mk-href", href)
      li.setAttribute("data-mk-version", v.name)
      var label = document.createElement("span")
      label.className = "mk-id"
      label.textContent = v.name + " 版"
      var anchor
      if (v.name === current) {
        anchor = document.createElement("strong")
        anchor.className = "mk-this-version"
        anchor.appendChild(label)
        anchor.appendChild(document.createTextNode("（本页）"))
      } else {
        anchor = document.createElement("a")
        anchor.href = href
        anchor.appendChild(label)
      }
      var status = document.createElement("span")
      status.className = "mk-status mk-status--" + v.css
      status.textContent = v.status
      li.appendChild(anchor)
      li.appendChild(document.createTextNode("：" + v.period + "，"))
      li.appendChild(status)
      list.appendChild(li)
    })
  }

  function picker(details) {
    var form = details.querySelector(".mk-pit__form")
    var input = form && form.querySelector("input[type=date]")
    var result = form && form.querySelector(".mk-pit__result")
    var items = details.querySelectorAll("li[data-mk-from]")
    if (!form || !input || !result || !items.length)
      return
    form.hidden = false
    form.addEventListener("submit", function (ev) {
      ev.preventDefault()
      var day = input.value
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) {
        result.textContent = "请输入日期，例如 2026-03-16。"
        return
      }
      var found = versionOn(items, day)
      if (!found) {
        var first = items[0].getAttribute("data-mk-from")
        result.textContent = proseIso(day) + " 本手册尚未生效：最早的版本自 " + proseIso(first) + " 起实施。"
        return
      }
      result.textContent = ""
      window.location.href = found.getAttribute("data-mk-href")
    })
  }

  stamp()
  window.addEventListener("beforeprint", stamp)
  var lists = document.querySelectorAll("ul[data-mk-list]")
  for (var j = 0; j < lists.length; j++)
    fill(lists[j])
  var pickers = document.querySelectorAll(".mk-pit")
  for (var i = 0; i < pickers.length; i++)
    picker(pickers[i])
})()
