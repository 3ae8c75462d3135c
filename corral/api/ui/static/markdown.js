// A small Markdown renderer for model output that builds DOM nodes and never parses markup: every
// piece of model text reaches the page through textContent, so "<script>" in an answer is shown, not
// run. Covers what chat models write: fenced code, inline code, headings, lists, quotes, emphasis and
// http(s) links. An unterminated code fence (mid-stream) renders as code so far.

const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^\s{0,3}[-*+]\s+(.*)$/;
const NUMBERED = /^\s{0,3}\d{1,9}[.)]\s+(.*)$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const INLINE = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*(?=\S)([\s\S]*?\S)\*\*|__(?=\S)([\s\S]*?\S)__|\*(?=\S)([^*]*?\S)\*|\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g;

function inline(text, parent) {
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) parent.append(document.createTextNode(text.slice(last, m.index)));
    if (m[2] !== undefined) {
      const code = document.createElement("code");
      code.textContent = m[2];
      parent.append(code);
    } else if (m[3] !== undefined || m[4] !== undefined) {
      const strong = document.createElement("strong");
      inline(m[3] ?? m[4], strong);
      parent.append(strong);
    } else if (m[5] !== undefined) {
      const em = document.createElement("em");
      inline(m[5], em);
      parent.append(em);
    } else {
      parent.append(link(m[6], m[7]));
    }
    last = m.index + m[0].length;
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
}

function link(label, href) {
  let url = null;
  try {
    url = new URL(href);
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    return document.createTextNode(`[${label}](${href})`);
  }
  const a = document.createElement("a");
  a.href = url.href;
  a.textContent = label;
  a.rel = "noopener noreferrer nofollow";
  a.target = "_blank";
  return a;
}

function paragraph(lines) {
  const p = document.createElement("p");
  lines.forEach((line, i) => {
    if (i > 0) p.append(document.createElement("br"));
    inline(line, p);
  });
  return p;
}

function codeBlock(language, lines) {
  const pre = document.createElement("pre");
  const code = document.createElement("code");
  if (language) {
    code.dataset.language = language;
    pre.dataset.language = language;
  }
  code.textContent = lines.join("\n");
  pre.append(code);
  return pre;
}

/** Render `text` as a DocumentFragment of safe nodes. */
export function renderMarkdown(text) {
  const out = document.createDocumentFragment();
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let para = [];
  let list = null;
  const flush = () => {
    if (para.length) out.append(paragraph(para));
    para = [];
    list = null;
  };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      flush();
      const body = [];
      const closing = new RegExp(`^\\s{0,3}${fence[1][0]}{${fence[1].length},}\\s*$`);
      for (i += 1; i < lines.length && !closing.test(lines[i]); i += 1) body.push(lines[i]);
      out.append(codeBlock(fence[2], body));
      continue;
    }
    if (!line.trim()) {
      flush();
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flush();
      const h = document.createElement(`h${Math.min(6, heading[1].length + 2)}`);
      inline(heading[2], h);
      out.append(h);
      continue;
    }
    if (RULE.test(line)) {
      flush();
      out.append(document.createElement("hr"));
      continue;
    }
    const bullet = BULLET.exec(line);
    const numbered = bullet ? null : NUMBERED.exec(line);
    if (bullet || numbered) {
      if (para.length) out.append(paragraph(para));
      para = [];
      const tag = bullet ? "ul" : "ol";
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = document.createElement(tag);
        out.append(list);
      }
      const item = document.createElement("li");
      inline((bullet ?? numbered)[1], item);
      list.append(item);
      continue;
    }
    const quote = QUOTE.exec(line);
    if (quote) {
      flush();
      const block = document.createElement("blockquote");
      inline(quote[1], block);
      out.append(block);
      continue;
    }
    list = null;
    para.push(line);
  }
  flush();
  return out;
}
