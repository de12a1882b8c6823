/* Refugees Welcome petition widget. Put <div data-petition="SLUG"></div> where it should appear
   and <script src="{{ origin }}/embed.js" async></script> once on the page. The widget speaks
   the element's data-lang, else the page's own <html lang>, when it is one we have; a
   partner's snippet has data-partner="its-name", and its own question shows beside ours. */
(function (w, d) {
  "use strict";
  var script = d.currentScript;
  var origin = script && script.src ? new URL(script.src, d.baseURI).origin : "{{ origin }}";
  var known = { "petition:signed": 1, "petition:confirmed": 1, "petition:donate": 1 };
  var titles = {{ titles | tojson }};
  var state = w.__refugeesWelcomeWidget = w.__refugeesWelcomeWidget || { frames: [] };

  function mount(el) {
    var slug = el.getAttribute("data-petition") || "";
    if (el.getAttribute("data-petition-mounted") || !/^[a-z0-9-]{1,80}$/.test(slug)) return;
    el.setAttribute("data-petition-mounted", "1");
    var frame = d.createElement("iframe");
    var lang = (el.getAttribute("data-lang") || d.documentElement.lang || "").toLowerCase().split("-")[0];
    if (!titles[lang]) lang = "en";
    var partner = el.getAttribute("data-partner") || "";
    frame.src = origin + (lang === "en" ? "" : "/" + lang) + "/embed/petitions/" + slug +
      "?ref=" + encodeURIComponent(w.location.href.split("#")[0]) +
      (/^[a-z0-9-]{1,60}$/.test(partner) ? "&partner=" + partner : "");
    frame.title = el.getAttribute("data-title") || titles[lang];
    frame.style.cssText = "display:block;width:100%;min-height:250px;height:520px;border:0;overflow:hidden";
    el.textContent = "";
    el.appendChild(frame);
    state.frames.push({ el: el, frame: frame, slug: slug });
  }

  function receive(event) {
    var data = event.data;
    if (!data || typeof data.type !== "string") return;
    for (var i = 0; i < state.frames.length; i++) {
      var item = state.frames[i];
      if (event.source !== item.frame.contentWindow) continue;
      // Only our widget speaks for our frames (sandboxed frames have an opaque origin).
      if (event.origin !== origin && event.origin !== "null") return;
      if (data.type === "petition:resize") {
        var height = Math.ceil(Number(data.height));
        if (height >= 100 && height <= 4000) item.frame.style.height = height + "px";
      } else if (known[data.type]) {
        item.el.dispatchEvent(new CustomEvent(data.type, { bubbles: true, detail: { slug: item.slug } }));
      }
      return;
    }
  }

  function scan() {
    var found = d.querySelectorAll("[data-petition]");
    for (var i = 0; i < found.length; i++) mount(found[i]);
  }

  if (!state.listening) {
    w.addEventListener("message", receive);
    state.listening = true;
  }
  scan();
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", scan);
})(window, document);
