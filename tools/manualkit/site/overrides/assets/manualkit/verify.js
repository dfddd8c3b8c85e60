/*
 * 验证文件 (verify.html): which release is this file, and is it in force?
 *
 * Staff drop (or pick) a DOCX or PDF. The file is read here, in the browser, and its SHA-256
 * computed with crypto.subtle (or, where the page is not a secure context and crypto.subtle is
 * missing, the plain implementation below); the digest is looked up in the site's own list of
 * published files (the page's <script type="application/json" id="mk-release-files"> block, the
 * same bytes as downloads/releases.json, written by the site build with the status of each
 * release on the build's day, and the files each release had in its earlier statuses: a copy
 * downloaded while a release was in force is recognised once it is superseded, and the card says
 * both the status its cover states and the status today). Nothing is sent anywhere: no request is made. Every text shown is
 * set with textContent, never parsed as HTML.
 */
(function () {
  "use strict"

  var root = document.getElementById("mk-verify")
  var block = document.getElementById("mk-release-files")
  if (!root || !block) return

  var list
  try {
    list = JSON.parse(block.textContent || "{}")
  } catch (e) {
    list = { releases: [] }
  }
  // A release's files as offered today, and those it had in its earlier statuses (a copy
  // downloaded while it was in force, now superseded): same release, another cover.
  var byDigest = {}
  ;(list.releases || []).forEach(function (release) {
    ;(release.earlier || []).forEach(function (earlier) {
      ;(earlier.files || []).forEach(function (file) {
        byDigest[String(file.sha256).toLowerCase()] = { release: release, file: file, earlier: earlier }
      })
    })
    ;(release.files || []).forEach(function (file) {
      byDigest[String(file.sha256).toLowerCase()] = { release: release, file: file, earlier: null }
    })
  })

  // --- SHA-256 without crypto.subtle (FIPS 180-4), for pages served over plain http -------------
  var K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]

  function plainSha256(bytes) {
    var n = bytes.length
    var total = Math.ceil((n + 9) / 64) * 64
    var m = new Uint8Array(total)
    m.set(bytes)
    m[n] = 0x80
    var bits = n * 8
    var view = new DataView(m.buffer)
    view.setUint32(total - 8, Math.floor(bits / 0x100000000))
    view.setUint32(total - 4, bits >>> 0)
    var h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    var w = new Array(64)
    for (var off = 0; off < total; off += 64) {
      for (var t = 0; t < 16; t++) w[t] = view.getUint32(off + t * 4)
      for (t = 16; t < 64; t++) {
        var a15 = w[t - 15], a2 = w[t - 2]
        var s0 = ((a15 >>> 7) | (a15 << 25)) ^ ((a15 >>> 18) | (a15 << 14)) ^ (a15 >>> 3)
        var s1 = ((a2 >>> 17) | (a2 << 15)) ^ ((a2 >>> 19) | (a2 << 13)) ^ (a2 >>> 10)
        w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0
      }
      var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7]
      for (t = 0; t < 64; t++) {
        var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
        var ch = (e & f) ^ (~e & g)
        var t1 = (k + S1 + ch + K[t] + w[t]) | 0
        var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
        var maj = (a & b) ^ (a & c) ^ (b & c)
        var t2 = (S0 + maj) | 0
        k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0
      h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + k) | 0
    }
    return h.map(function (x) { return ("00000000" + (x >>> 0).toString(16)).slice(-8) }).join("")
  }

  function hex(buffer) {
    var bytes = new Uint8Array(buffer)
    var out = ""
    for (var i = 0; i < bytes.length; i++) out += ("0" + bytes[i].toString(16)).slice(-2)
    return out
  }

  function sha256(buffer) {
    if (window.crypto && window.crypto.subtle && window.crypto.subtle.digest) {
      return window.crypto.subtle.digest("SHA-256", buffer).then(hex)
    }
    return Promise.resolve(plainSha256(new Uint8Array(buffer)))
  }

  function read(file) {
    if (file.arrayBuffer) return file.arrayBuffer()
    return new Promise(function (resolve, reject) {
      var reader = new FileReader()
      reader.onload = function () { resolve(reader.result) }
      reader.onerror = function () { reject(reader.error) }
      reader.readAsArrayBuffer(file)
    })
  }

  // --- showing a result ----------------------------------------------------------------------
  var results = document.getElementById("mk-verify-results")

  function el(tag, className, text) {
    var node = document.createElement(tag)
    if (className) node.className = className
    if (text !== undefined) node.textContent = text
    return node
  }

  function line(parent, label, value, valueClass) {
    var row = el("div", "mk-verify__line")
    row.appendChild(el("span", "mk-verify__label", label))
    row.appendChild(el("span", "mk-verify__value" + (valueClass ? " " + valueClass : ""), value))
    parent.appendChild(row)
  }

  function digestText(digest) {
    return digest.replace(/(.{8})(?!$)/g, "$1 ")
  }

  function show(file, digest) {
    var hit = byDigest[digest]
    var state = hit ? String(hit.release.status) : "unknown"
    var card = el("div", "mk-verify__result mk-verify__result--" + state.replace(/[^a-z-]/g, ""))
    card.setAttribute("data-mk-status", state)
    if (hit) {
      if (hit.earlier) card.setAttribute("data-mk-issued", String(hit.earlier.status))
      card.appendChild(el("p", "mk-verify__verdict", hit.earlier ? hit.earlier.verdict : hit.release.status_text))
      card.appendChild(el("p", "mk-verify__note", hit.earlier ? hit.earlier.advice : hit.release.advice))
      line(card, "版本", hit.release.version + " 版", "mk-id")
      line(card, "文件", hit.file.name + "（" + hit.file.kind + "）", "mk-id")
      line(card, "生效日期", hit.release.effective_text)
      if (hit.earlier) line(card, "封面状态", hit.earlier.status_text + "（" + hit.earlier.since_text + "起，即下载时的状态）")
      line(card, "状态", hit.release.status_text + "（截至 " + list.as_of_text + "）")
    } else {
      card.appendChild(el("p", "mk-verify__verdict", "不是发布文件"))
      card.appendChild(el("p", "mk-verify__note",
        "这个文件的 SHA-256 与本网站发布的任何正式文件都不相同：它可能被改动过（哪怕一个字节），或者不是从本网站下载的。" +
        "请不要依据它执行，改从“下载”页面取得正式文件。"))
    }
    line(card, "您的文件", file.name || "（无名称）", "mk-id")
    line(card, "SHA-256", digestText(digest), "mk-verify__digest")
    results.insertBefore(card, results.firstChild)
  }

  function failed(file) {
    var card = el("div", "mk-verify__result mk-verify__result--error")
    card.setAttribute("data-mk-status", "error")
    card.appendChild(el("p", "mk-verify__verdict", "无法读取文件"))
    line(card, "您的文件", file.name || "（无名称）", "mk-id")
    results.insertBefore(card, results.firstChild)
  }

  function check(files) {
    Array.prototype.forEach.call(files || [], function (file) {
      read(file).then(sha256).then(function (digest) { show(file, digest) }, function () { failed(file) })
    })
  }

  // --- the drop zone and the file field --------------------------------------------------------
  var drop = document.getElementById("mk-verify-drop")
  var input = document.getElementById("mk-verify-file")
  root.hidden = false
  input.addEventListener("change", function () {
    check(input.files)
    input.value = ""
  })
  ;["dragenter", "dragover"].forEach(function (type) {
    drop.addEventListener(type, function (event) {
      event.preventDefault()
      drop.classList.add("mk-verify__drop--over")
    })
  })
  drop.addEventListener("dragleave", function () { drop.classList.remove("mk-verify__drop--over") })
  drop.addEventListener("drop", function (event) {
    event.preventDefault()
    drop.classList.remove("mk-verify__drop--over")
    check(event.dataTransfer && event.dataTransfer.files)
  })
  // A file dropped beside the zone must not make the browser open it (and leave the page).
  ;["dragover", "drop"].forEach(function (type) {
    window.addEventListener(type, function (event) { event.preventDefault() })
  })
})()
