// Progressive enhancement only: every page works without this file.
// Adds a copy button next to each room handle (`.handle code`).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  if (!navigator.clipboard) return;
  for (const code of document.querySelectorAll(".handle code")) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = document.documentElement.lang.startsWith("de") ? "Kopieren" : "Copy";
    button.className = "copy";
    button.addEventListener("click", async () => {
      await navigator.clipboard.writeText(code.textContent.trim());
      button.textContent = "✓";
    });
    code.after(" ", button);
  }
});
