// The petition widget inside its frame: signs with fetch (works in sandboxed frames, where forms
// cannot submit), tells the host page its height and what happened, and stays accessible.
(function () {
  "use strict";
  var root = document.querySelector("[data-widget]");
  if (!root) return;
  var parentOrigin = root.getAttribute("data-parent-origin") || "*";
  // What the widget says: English, or the page's language (petition/templating.py's
  // widget_words, in data-words).
  var t = root.hasAttribute("data-words") ? JSON.parse(root.getAttribute("data-words")) : {
    one: "signature", other: "signatures", awaiting: { other: "{n} awaiting confirmation" },
    copyIntro: "If these links do not open here, copy an address:", copyLabel: "address to copy",
    counted: "Thank you: your signature is counted", useSuggested: "Yes, use {address}",
    keepTyped: "No, {address} is right", sending: "Sending…", sentTo: " to {address}",
    tooMany: "That has been sent many times in a short while. Please wait a minute and try again.",
    expired: "This form has expired. Please reload the page and try again.",
    failed: "Something went wrong. Please try again in a moment.",
    offline: "We could not reach the petition. Check your connection and try again.",
    sign: "Sign the petition"
  };
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }
  var form = root.querySelector("[data-form]");
  var thanks = root.querySelector("[data-thanks]");

  function tell(type, extra) {
    if (window.parent === window) return;
    var message = { type: type, slug: root.getAttribute("data-slug") };
    for (var key in extra || {}) message[key] = extra[key];
    try { window.parent.postMessage(message, parentOrigin); } catch (e) { /* host gone */ }
  }

  var lastHeight = 0;
  function resize() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== lastHeight) { lastHeight = height; tell("petition:resize", { height: height }); }
  }
  if (window.ResizeObserver) new ResizeObserver(resize).observe(document.documentElement);
  window.addEventListener("load", resize);
  resize();

  // In a sandboxed frame (WordPress puts oEmbed content in one) links may not open a tab: show
  // the donate and share addresses as text a reader can copy.
  if (window.origin === "null" && thanks) {
    var copy = document.createElement("div");
    copy.className = "w-copy";
    var intro = document.createElement("p");
    intro.textContent = t.copyIntro;
    copy.appendChild(intro);
    thanks.querySelectorAll("a[target=_blank]").forEach(function (link) {
      var line = document.createElement("p");
      var label = document.createElement("span");
      label.textContent = link.firstChild.textContent.trim() + ": ";
      var address = document.createElement("input");
      address.type = "text";
      address.readOnly = true;
      address.value = link.href;
      address.setAttribute("aria-label", label.textContent + t.copyLabel);
      address.addEventListener("focus", function () { address.select(); });
      line.appendChild(label);
      line.appendChild(address);
      copy.appendChild(line);
    });
    thanks.appendChild(copy);
  }

  var donate = root.querySelector("[data-donate]");
  if (donate) donate.addEventListener("click", function () { tell("petition:donate"); });

  // Same-site pages (our own articles) hear about a confirmation made in another tab: the
  // widget says so, counts it at once, and tells the host page.
  var refreshCount = function () {};
  if (window.BroadcastChannel) {
    new BroadcastChannel("refugees-welcome").onmessage = function (event) {
      if (!(event.data && event.data.type === "confirmed" && event.data.slug === root.getAttribute("data-slug"))) return;
      var title = thanks && thanks.querySelector("h2");
      if (title && !thanks.hidden) {
        title.textContent = t.counted;
        thanks.querySelectorAll("[data-correct], [data-check-email]").forEach(function (el) { el.hidden = true; });
      }
      // The stored count catches up within a second or two.
      [0, 1500, 4000].forEach(function (wait) { setTimeout(function () { refreshCount(); }, wait); });
      tell("petition:confirmed");
    };
  }

  // Keep the count live while the story is open; the count API is cached, so asking is cheap.
  var every = Number(root.getAttribute("data-live-every")) * 1000;
  var number = root.querySelector("[data-count]");
  var lang = document.documentElement.lang;
  var format = window.Intl ? new Intl.NumberFormat(lang).format : String;
  var plural = window.Intl ? new Intl.PluralRules(lang) : { select: function (n) { return n === 1 ? "one" : "other"; } };
  // As site.js: a sentence's form for a number, or one for all (a page cached before a deploy).
  function forNumber(forms, n) {
    return typeof forms === "string" ? forms : forms[plural.select(n)] || forms.other;
  }
  refreshCount = function () {
    fetch(root.getAttribute("data-count-url"), { credentials: "omit", cache: "no-cache" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (data) {
      if (!data) return;
      var count = data.signature_count, pending = data.awaiting_confirmation || 0;
      var waiting = root.querySelector("[data-pending]"), awaiting = fill(forNumber(t.awaiting, pending), { n: format(pending) });
      if (number.textContent === format(count) && waiting.textContent === awaiting) return;
      var goal = data.display_goal || data.goal, bar = root.querySelector("[data-count-bar]");
      number.textContent = format(count);
      waiting.textContent = awaiting;
      root.querySelector("[data-count-label]").textContent = forNumber(t, count);
      root.querySelector("[data-goal]").textContent = format(goal);
      // As templates/_macros/tally.html: the count, then those awaiting confirmation.
      var done = Math.min(count, goal), rest = Math.min(pending, goal - done);
      var width = function (n) { return Math.max(1000 * n / goal, n > 0 ? 15 : 0).toFixed(1); };
      bar.querySelector("[data-bar-done]").setAttribute("width", width(done));
      bar.querySelector("[data-bar-pending]").setAttribute("x", width(done));
      bar.querySelector("[data-bar-pending]").setAttribute("width", width(rest));
    }).catch(function () { /* offline: try again next time */ });
  };
  if (every > 0 && number) setInterval(function () { if (!document.hidden) refreshCount(); }, every);

  if (!form) { if (thanks && !thanks.hidden) tell("petition:signed"); return; }

  var button = form.querySelector("[data-submit]");
  var summary = form.querySelector("[data-summary]");
  var list = form.querySelector("[data-summary-list]");
  var status = form.querySelector("[data-message]");
  var sending = false;
  var emailChoice = "";
  var replaces = "";
  var correct = thanks && thanks.querySelector("[data-correct]");
  // Signing again with the right address replaces the signature just made.
  if (correct) correct.addEventListener("click", function () {
    thanks.hidden = true;
    form.hidden = false;
    document.getElementById("w-email").focus();
  });

  function clearErrors() {
    summary.hidden = true;
    list.textContent = "";
    status.textContent = "";
    form.querySelectorAll("[data-field]").forEach(function (field) {
      var name = field.getAttribute("data-field");
      var error = document.getElementById("w-" + name + "-error");
      error.hidden = true;
      error.textContent = "";
      var control = document.getElementById("w-" + name);
      if (control) control.removeAttribute("aria-invalid");
    });
  }

  // "Did you mean …?": one press takes the suggestion (or keeps the address) and signs.
  function offer(suggested) {
    var error = document.getElementById("w-email-error");
    var typed = document.getElementById("w-email").value;
    var box = document.createElement("span");
    box.className = "w-suggest";
    [["suggested", fill(t.useSuggested, { address: suggested })], ["typed", fill(t.keepTyped, { address: typed })]].forEach(function (choice) {
      var press = document.createElement("button");
      press.type = "button";
      press.className = "w-link";
      press.textContent = choice[1];
      press.addEventListener("click", function () {
        if (choice[0] === "suggested") document.getElementById("w-email").value = suggested;
        emailChoice = choice[0];
        send();
      });
      box.appendChild(press);
    });
    error.appendChild(box);
  }

  function showErrors(errors) {
    // In the order of the fields on the page, not the order the server listed them.
    var names = [];
    form.querySelectorAll("[id^='w-']").forEach(function (control) {
      var name = control.id.slice(2);
      if (errors[name] && names.indexOf(name) < 0) names.push(name);
    });
    names.forEach(function (name) {
      var control = document.getElementById("w-" + name);
      var error = document.getElementById("w-" + name + "-error");
      if (!control || !error) return;
      error.textContent = errors[name];
      error.hidden = false;
      control.setAttribute("aria-invalid", "true");
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "#w-" + name;
      link.textContent = errors[name];
      link.addEventListener("click", function (event) { event.preventDefault(); control.focus(); });
      item.appendChild(link);
      list.appendChild(item);
    });
    summary.hidden = false;
    summary.focus();
  }

  function send(event) {
    if (event) event.preventDefault();
    if (sending) return;
    sending = true;
    button.setAttribute("aria-disabled", "true");
    button.textContent = t.sending;
    clearErrors();
    var data = {};
    new FormData(form).forEach(function (value, key) { data[key] = value; });
    data.consent_updates = form.querySelector("#w-consent_updates").checked;
    var theirs = form.querySelector("#w-consent_partner");
    if (theirs) data.consent_partner = theirs.checked;
    if (emailChoice) data.email_choice = emailChoice;
    if (replaces) data.replaces = replaces;
    emailChoice = "";
    // text/plain keeps this a "simple" request: no preflight, even from a sandboxed frame.
    fetch(root.getAttribute("data-api"), {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "text/plain;charset=UTF-8", "Accept": "application/json" },
      body: JSON.stringify(data)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) { return { status: response.status, body: body }; });
    }).then(function (result) {
      if (result.status === 202) {
        var sentTo = thanks.querySelector("[data-sent-to]");
        if (sentTo && result.body.sent_to) sentTo.textContent = fill(t.sentTo, { address: result.body.sent_to });
        replaces = result.body.replaces || "";
        if (correct) correct.hidden = !replaces;
        form.hidden = true;
        thanks.hidden = false;
        thanks.focus();
        tell("petition:signed");
      } else if (result.status === 422 && result.body.errors) {
        showErrors(result.body.errors);
        if (result.body.suggestions && result.body.suggestions.email) offer(result.body.suggestions.email);
      } else if (result.status === 429) {
        status.textContent = t.tooMany;
      } else if (result.status === 403) {
        status.textContent = t.expired;
      } else {
        status.textContent = t.failed;
      }
    }).catch(function () {
      status.textContent = t.offline;
    }).then(function () {
      sending = false;
      button.removeAttribute("aria-disabled");
      button.textContent = t.sign;
      resize();
    });
  }

  // In a sandboxed frame a form never fires "submit": act on the button and on Enter instead.
  button.addEventListener("click", send);
  form.addEventListener("submit", send);
  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.tagName === "INPUT" && event.target.type !== "checkbox") send(event);
  });
})();
