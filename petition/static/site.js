// Progressive enhancements only: every page works without this file.
(function () {
  "use strict";

  // After a failed submit, take keyboard and screen-reader users to the list of problems.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();

  // Stop a double tap from sending a form twice.
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sending) { event.preventDefault(); return; }
      form.dataset.sending = "1";
      var button = form.querySelector("button[type=submit]");
      if (button) { button.setAttribute("aria-disabled", "true"); }
    });
  });

  // The device's own share sheet where there is one.
  document.querySelectorAll("[data-share-url]").forEach(function (button) {
    if (!navigator.share) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.share({ text: button.dataset.shareText, url: button.dataset.shareUrl }).catch(function () {});
    });
  });

  // Copy buttons: a link (data-copy) or the code in a text box (data-copy-from).
  document.querySelectorAll("[data-copy], [data-copy-from]").forEach(function (button) {
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = button.dataset.copyFrom && document.getElementById(button.dataset.copyFrom);
      navigator.clipboard.writeText(source ? source.value : button.dataset.copy).then(function () {
        var done = source ? "Copied" : "Link copied";
        var status = document.querySelector("[data-copied]");
        if (status) status.textContent = done;
        button.textContent = done;
      });
    });
  });

  // Keep counts live while the page is open; the count's region announces changes politely.
  // In the page's language: its numbers, and the words the server put on the tally
  // (data-words: petition/templating.py's count_words).
  var lang = document.documentElement.lang || "en-GB";
  var format = new Intl.NumberFormat(lang), plural = new Intl.PluralRules(lang);
  var english = { one: "signature", other: "signatures", awaiting: { other: "{n} awaiting confirmation" }, under: "Under 1%",
    bar: { other: "{done} of the way to the goal of {goal} signatures; {pending} more awaiting confirmation" } };
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }
  // A sentence's form for a number ("1 чекає", "2 чекають"): one for each plural category
  // (or one for all, from a page cached before a deploy gave it forms).
  function forNumber(forms, n) {
    return typeof forms === "string" ? forms : forms[plural.select(n)] || forms.other;
  }
  // As petition/templating.py's percent(): rounded down, "Under 1%" once anyone has signed.
  function percent(count, goal, words) {
    if (count <= 0 || goal <= 0) return "0%";
    if (count * 100 < goal) return words.under;
    return Math.min(100, Math.floor(count * 100 / goal)) + "%";
  }
  // As templates/_macros/tally.html: the count, then those awaiting confirmation, to the goal.
  function moveBar(bar, count, pending, goal, words) {
    var done = Math.min(count, goal), waiting = Math.min(pending, goal - done);
    var width = function (n) { return Math.max(1000 * n / goal, n > 0 ? 15 : 0).toFixed(1); };
    bar.querySelector("[data-bar-done]").setAttribute("width", width(done));
    bar.querySelector("[data-bar-pending]").setAttribute("x", width(done));
    bar.querySelector("[data-bar-pending]").setAttribute("width", width(waiting));
    bar.setAttribute("aria-label", fill(forNumber(words.bar, pending), { done: percent(count, goal, words), goal: format.format(goal), pending: format.format(pending) }));
  }
  document.querySelectorAll("[data-live-count]").forEach(function (tally) {
    var url = tally.dataset.liveCount;
    var words = tally.dataset.words ? JSON.parse(tally.dataset.words) : english;
    function refresh() {
      if (document.hidden) return;
      fetch(url, { credentials: "omit" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (!data) return;
        var count = data.signature_count, goal = data.display_goal || data.goal;
        var pending = data.awaiting_confirmation || 0;
        var number = tally.querySelector("[data-count]");
        var waiting = tally.querySelector("[data-pending]");
        var awaiting = fill(forNumber(words.awaiting, pending), { n: format.format(pending) });
        if (number.textContent === format.format(count) && waiting.textContent === awaiting) return;
        number.textContent = format.format(count);
        waiting.textContent = awaiting;
        tally.querySelector("[data-count-label]").textContent = forNumber(words, count);
        moveBar(tally.querySelector("[data-count-bar]"), count, pending, goal, words);
        tally.querySelector("[data-count-percent]").textContent = percent(count, goal, words);
        tally.querySelector("[data-goal]").textContent = format.format(goal);
      }).catch(function () {});
    }
    var every = Number(tally.dataset.liveEvery) * 1000;
    if (!(every > 0)) return;
    // Once soon (a reader may just have confirmed in another tab), then every so often.
    setTimeout(refresh, Math.min(5000, every));
    setInterval(refresh, every);
  });
})();

// Character counters for fields with a limit (standfirst, share description): a live hint.
(function () {
  "use strict";
  document.querySelectorAll("[data-count-chars][maxlength]").forEach(function (field) {
    var limit = Number(field.getAttribute("maxlength"));
    var counter = document.createElement("span");
    counter.className = "char-count";
    counter.id = field.id + "-count";
    counter.setAttribute("aria-live", "polite");
    field.insertAdjacentElement("afterend", counter);
    var described = field.getAttribute("aria-describedby");
    field.setAttribute("aria-describedby", (described ? described + " " : "") + counter.id);
    function update() {
      var left = limit - field.value.length;
      counter.textContent = left >= 0 ? left + " characters left" : -left + " characters too many";
      counter.classList.toggle("char-count--over", left < 0);
    }
    field.addEventListener("input", update);
    update();
  });
})();

// Error summary links move focus to the field itself, not just the page to it (GOV.UK pattern).
(function () {
  "use strict";
  document.querySelectorAll(".error-summary a[href^='#']").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var field = document.getElementById(link.getAttribute("href").slice(1));
      if (!field) return;
      event.preventDefault();
      var label = document.querySelector("label[for='" + field.id + "']");
      (label || field).scrollIntoView();
      field.focus({ preventScroll: true });
    });
  });
})();

// Tell our widget, where it sits on our own pages in other tabs, that a signature was confirmed.
(function () {
  "use strict";
  var confirmed = document.querySelector("[data-confirmed]");
  if (confirmed && window.BroadcastChannel) {
    new BroadcastChannel("refugees-welcome").postMessage({ type: "confirmed", slug: confirmed.getAttribute("data-confirmed") });
  }
})();
