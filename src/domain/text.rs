//! Turning user text into safe HTML: markdown from local users, HTML from remote servers.
//!
//! pulldown-cmark renders CommonMark; ammonia removes anything a browser could execute.
//! Both are well-kept crates used widely, which beats a hand-written sanitiser.

/// Renders markdown to sanitised HTML.
pub fn markdown_to_html(source: &str) -> String {
    let parser = pulldown_cmark::Parser::new(source);
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser);
    sanitize_html(&html)
}

/// Removes scripts, event handlers and other unsafe markup from remote HTML.
pub fn sanitize_html(html: &str) -> String {
    ammonia::clean(html)
}

/// Plain text of an HTML fragment (for titles derived from notes).
pub fn html_to_text(html: &str) -> String {
    let cleaned = ammonia::Builder::empty().clean(html).to_string();
    cleaned
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A title for an idea suggested by a plain post: its first line, at most 120 characters.
pub fn title_from_text(text: &str) -> String {
    let first = text.lines().next().unwrap_or("").trim();
    let mut title: String = first.chars().take(120).collect();
    if first.chars().count() > 120 {
        title.push('…');
    }
    if title.is_empty() {
        "Untitled suggestion".to_string()
    } else {
        title
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders_and_scripts_are_removed() {
        let html = markdown_to_html("**bold** <script>alert(1)</script> [x](javascript:alert(1))");
        assert!(html.contains("<strong>bold</strong>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
    }

    #[test]
    fn remote_html_is_sanitised() {
        let html = sanitize_html(r#"<p onclick="x()">hi<img src=x onerror=alert(1)></p>"#);
        assert!(!html.contains("onclick"));
        assert!(!html.contains("onerror"));
        assert!(html.contains("hi"));
    }

    #[test]
    fn text_and_titles() {
        assert_eq!(
            html_to_text("<p>Make it <b>lighter</b></p>"),
            "Make it lighter"
        );
        assert_eq!(title_from_text(""), "Untitled suggestion");
        assert_eq!(title_from_text(&"x".repeat(200)).chars().count(), 121);
    }
}
