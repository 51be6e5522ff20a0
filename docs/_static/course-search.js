// Sphinx's search shows an excerpt of each page it finds, which it `fetch`es: the whole page, menus and the
// printed contents included, and math as MathJax's source; and a browser refuses `fetch` to a page opened from
// disk (file://). So the page's text comes instead from `_static/search-text/PAGE.js` (written by docs/conf.py):
// its main text alone, in a script, which loads from disk as it does from a server.
(() => {
  const root = new URL(document.documentElement.dataset.content_root || "./", location.href).href;
  const texts = {}, waiting = {};
  window.courseSearchText = (doc, text) => {
    texts[doc] = text;
    (waiting[doc] || []).forEach((done) => done());
    delete waiting[doc];
  };
  const pageFetch = window.fetch;
  window.fetch = (resource, ...rest) => {
    const url = new URL(String(resource), location.href);
    if (!url.href.startsWith(root) || !url.pathname.endsWith(".html")) return pageFetch(resource, ...rest);
    const doc = decodeURIComponent(url.pathname.slice(new URL(root).pathname.length)).replace(/\.html$/, "");
    return new Promise((resolve) => {
      const done = () => resolve(new Response(texts[doc] || ""));
      if (doc in texts) return done();
      (waiting[doc] = waiting[doc] || []).push(done);
      if (waiting[doc].length > 1) return;
      const script = document.createElement("script");
      script.src = root + "_static/search-text/" + doc.replaceAll("/", "--") + ".js";
      script.onerror = () => window.courseSearchText(doc, "");
      document.head.append(script);
    });
  };
})();
