/*
 * Chinese search of the staff site (manualkit). Material starts this file as its search worker
 * (the page template names it); it loads Material's own worker, named by ?material=, and adapts
 * three of Material's messages:
 *
 * - SETUP: every document gets two more indexed fields, "kt" and "kx": the Chinese of its title
 *   and of its text as single characters ("zu" + code point) and character pairs ("zb" + two code
 *   points), boosted like the title and the text.
 * - QUERY: each run of Chinese in the query becomes required terms, its character pairs (or the
 *   character itself when the run is one character): 销售订单 → +销售 +售订 +订单, encoded. A section
 *   matches when it holds every pair, so a word is found wherever it stands: in the middle of a
 *   sentence, or inside a longer word. No Chinese reaches Material's own query segmentation, which
 *   guesses words from the index and drops the end of a longer term.
 * - RESULT: the Chinese of the query is marked in each result's title and text, the text is cut
 *   to the (at most two) blocks that contain it, as Material does for other words, and the terms
 *   (used for ?h= highlighting on the page) are the words typed.
 *
 * Material's message types: SETUP 0, READY 1, QUERY 2, RESULT 3.
 */
(function () {
  "use strict"

  var SETUP = 0
  var READY = 1
  var QUERY = 2
  var RESULT = 3
  var HAN_RUN = /\p{Script=Han}+/gu
  var ENCODED = /^z[ub](?:[0-9a-f]{5}){1,2}$/
  var VOID = /^(?:area|base|br|col|embed|hr|img|input|link|meta|source|track|wbr)$/i
  var MATERIAL_WORKER = /^search\.[0-9a-f]+\.min\.js$/

  var indexed = []   // documents given the extra fields, to drop them once the index is built
  var pending = []   // the Chinese runs of each query in flight, oldest first

  function code(ch) {
    return ch.codePointAt(0).toString(16).padStart(5, "0")
  }

  function grams(text) {
    var terms = []
    var runs = text.match(HAN_RUN) || []
    for (var r = 0; r < runs.length; r++) {
      var c = Array.from(runs[r])
      for (var i = 0; i < c.length; i++) {
        terms.push("zu" + code(c[i]))
        if (i + 1 < c.length)
          terms.push("zb" + code(c[i]) + code(c[i + 1]))
      }
    }
    return terms.join(" ")
  }

  function queryTerms(run) {
    var c = Array.from(run)
    if (c.length === 1)
      return ["+zu" + code(c[0])]
    var terms = []
    for (var i = 0; i + 1 < c.length; i++) {
      var term = "+zb" + code(c[i]) + code(c[i + 1])
      if (terms.indexOf(term) < 0)
        terms.push(term)
    }
    return terms
  }

  function textOf(html) {
    return String(html).replace(/<[^>]*>/g, "")
  }

  /* The top-level blocks of an HTML string (a paragraph, a list, a table, loose text) */
  function blocks(html) {
    var out = []
    var depth = 0
    var start = 0
    var tag = /<(\/?)([A-Za-z][A-Za-z0-9-]*)[^>]*?(\/?)>/g
    var m
    while ((m = tag.exec(html)) !== null) {
      if (m[1] === "/") {
        depth = Math.max(0, depth - 1)
        if (depth === 0) {
          out.push(html.slice(start, tag.lastIndex))
          start = tag.lastIndex
        }
      } else if (m[3] !== "/" && !VOID.test(m[2])) {
        if (depth === 0) {
          if (m.index > start)
            out.push(html.slice(start, m.index))
          start = m.index
        }
        depth++
      }
    }
    if (start < html.length)
      out.push(html.slice(start))
    return out.filter(function (b) { return b.trim() })
  }

  function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  }

  function mark(html, runs) {
    var sorted = runs.slice().sort(function (a, b) { return b.length - a.length })
    var pattern = new RegExp(sorted.map(escapeRegExp).join("|"), "g")
    return String(html).split(/(<[^>]*>)/).map(function (part) {
      return part.charAt(0) === "<" ? part : part.replace(pattern, "<mark>$&</mark>")
    }).join("")
  }

  function teaser(html, runs) {
    var hits = blocks(String(html)).filter(function (b) {
      var text = textOf(b)
      return runs.some(function (r) { return text.indexOf(r) >= 0 })
    })
    return hits.length ? mark(hits.slice(0, 2).join(""), runs) : html
  }

  function adapt(result, runs) {
    if (!runs.length || !result || !result.items)
      return
    result.items.forEach(function (group) {
      group.forEach(function (item) {
        if (typeof item.title === "string")
          item.title = mark(item.title, runs)
        if (typeof item.text === "string")
          item.text = teaser(item.text, runs)
        var terms = {}
        Object.keys(item.terms || {}).forEach(function (key) {
          if (!ENCODED.test(key))
            terms[key] = item.terms[key]
        })
        runs.forEach(function (run) { terms[run] = true })
        item.terms = terms
      })
    })
  }

  /* Registered before Material's worker is loaded, so it sees every message first */
  addEventListener("message", function (ev) {
    var message = ev.data
    if (!message || typeof message !== "object")
      return
    if (message.type === SETUP && message.data && message.data.docs) {
      var config = message.data.config
      var fields = config.fields = config.fields || {}
      fields.kt = { boost: (fields.title && fields.title.boost) || 1000 }
      fields.kx = { boost: (fields.text && fields.text.boost) || 1 }
      message.data.docs.forEach(function (doc) {
        doc.kt = grams(String(doc.title || ""))
        doc.kx = grams(textOf(doc.text || ""))
        indexed.push(doc)
      })
    } else if (message.type === QUERY) {
      var query = String(message.data)
      var runs = query.match(HAN_RUN) || []
      pending.push(runs)
      if (runs.length)
        message.data = query.replace(/"/g, " ").replace(HAN_RUN, function (run) {
          return " " + queryTerms(run).join(" ") + " "
        })
    }
  })

  var post = self.postMessage.bind(self)
  self.postMessage = function (message) {
    if (message && message.type === READY) {
      indexed.forEach(function (doc) { delete doc.kt; delete doc.kx })
      indexed = []
    } else if (message && message.type === RESULT) {
      adapt(message.data, pending.shift() || [])
    }
    return post.apply(null, arguments)
  }

  var material = new URL(self.location.href).searchParams.get("material")
  if (!material || !MATERIAL_WORKER.test(material))
    throw new Error("manualkit-search: the name of Material's search worker is missing")
  importScripts(material)
})()
