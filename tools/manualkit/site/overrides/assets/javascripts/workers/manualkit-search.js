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
 *   to the (at most two) sentences that contain it — a sentence ends at 。！？ or with its
 *   paragraph, list item or table row (the site indexes a table row as 列名：值；列名：值。,
 *   manualkit.site.search_text) — with … where the sentence was cut from its paragraph and around
 *   the words in a sentence longer than SENTENCE_MAX characters; and the terms (used for ?h=
 *   highlighting on the page) are the words typed. The pages are ordered: those that hold every
 *   word first, among them the chapters before the change requests and the 修订记录 (which
 *   repeat the words of the rules they changed; their lower search boost comes from
 *   manualkit.site.search_text), by Material's score within each.
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

  var SENTENCE_MAX = 90   // characters of a snippet sentence before it is cut around the words
  var CONTEXT = 36        // characters kept on each side of the words in a cut sentence
  var BREAK = /<\/(?:p|li|ul|ol|h[1-6]|pre|tr|td|th|div)>|<br\s*\/?>|<(?:p|li|ul|ol|pre)\b[^>]*>/gi
  var ENTITY = /&(?:amp|lt|gt|quot|#39|#x27|#(\d+)|#x([0-9a-f]+));/gi

  function decode(text) {
    return text.replace(ENTITY, function (e, dec, hex) {
      if (dec) return String.fromCodePoint(parseInt(dec, 10))
      if (hex) return String.fromCodePoint(parseInt(hex, 16))
      return { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": "\"", "&#39;": "'", "&#x27;": "'" }[e.toLowerCase()]
    })
  }

  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
  }

  /* The sentences of an HTML string as plain text: each ends at 。！？ or with its block (；
     joins the clauses of one sentence, and the cells of one table row) */
  function sentences(html) {
    var out = []
    decode(String(html).replace(BREAK, "\n").replace(/<[^>]*>/g, "")).split("\n").forEach(function (line) {
      var parts = line.match(/[^。！？]+[。！？]*/g) || []
      parts.forEach(function (part, i) {
        var text = part.replace(/\s+/g, " ").trim()
        if (text)
          out.push({ text: text, first: i === 0, last: i === parts.length - 1 })
      })
    })
    return out
  }

  /* One sentence around the first of the words it holds: cut when long, … where cut */
  function around(sentence, runs) {
    var text = sentence.text
    var chars = Array.from(text)
    var head = sentence.first ? "" : "…"
    var tail = sentence.last ? "" : "…"
    if (chars.length > SENTENCE_MAX) {
      var at = -1
      var len = 0
      runs.forEach(function (r) {
        var i = text.indexOf(r)
        if (i >= 0 && (at < 0 || i < at)) { at = i; len = r.length }
      })
      var start = Math.max(0, Array.from(text.slice(0, Math.max(at, 0))).length - CONTEXT)
      var end = Math.min(chars.length, Array.from(text.slice(0, Math.max(at, 0) + len)).length + CONTEXT)
      if (start > 0) head = "…"
      if (end < chars.length) tail = "…"
      text = chars.slice(start, end).join("")
    }
    return "<p>" + head + mark(escapeHtml(text), runs) + tail + "</p>"
  }

  function teaser(html, runs) {
    var all = sentences(html)
    var hits = all.filter(function (s) {
      return runs.some(function (r) { return s.text.indexOf(r) >= 0 })
    })
    if (!hits.length)
      return all.length ? around(all[0], runs) : ""
    return hits.slice(0, 2).map(function (s) { return around(s, runs) }).join("")
  }

  /* Whether a page's results hold every word of the query (Material's terms: word → found) */
  function complete(group) {
    return group.some(function (item) {
      var terms = item.terms || {}
      return Object.keys(terms).every(function (key) { return terms[key] })
    }) ? 1 : 0
  }

  function tier(group) {
    return Math.max.apply(null, group.map(function (item) {
      return typeof item.boost === "number" ? item.boost : 1
    }))
  }

  /* Pages holding every word first; among them the chapters (the rule itself) before the pages
     about the rules (change requests, 修订记录: a lower boost in the index); Material's order
     (by score) within each */
  function rank(items) {
    return items.map(function (group, i) {
      return { group: group, i: i, complete: complete(group), tier: tier(group) }
    }).sort(function (a, b) {
      return (b.complete - a.complete) || (b.tier - a.tier) || (a.i - b.i)
    }).map(function (entry) { return entry.group })
  }

  function adapt(result, runs) {
    if (!result || !result.items)
      return
    result.items = rank(result.items)
    if (!runs.length)
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
