package org.lipa.app.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A self-contained HTML report: headings, paragraphs, tables and PNG figures referenced by relative
 * path, in one static page that needs no network and no script.
 *
 * <pre>{@code
 * Html page = new Html("Lipa report");
 * page.heading("Training").paragraph("97.8% test accuracy").figure("loss.png", "Training loss per step");
 * page.write(dir.resolve("index.html"));
 * }</pre>
 *
 * <p>Thread safety: not thread-safe; build and write a page from one thread.
 */
public final class Html {
    private final StringBuilder body = new StringBuilder();
    private final String title;

    public Html(String title) {
        this.title = title;
    }

    public Html heading(String text) {
        body.append("<h2>").append(escape(text)).append("</h2>\n");
        return this;
    }

    public Html paragraph(String text) {
        body.append("<p>").append(escape(text)).append("</p>\n");
        return this;
    }

    /** A figure: the image at {@code relativePath} with its caption (what the plot shows and how to read it). */
    public Html figure(String relativePath, String caption) {
        body.append("<figure><img src=\"").append(escape(relativePath)).append("\" alt=\"").append(escape(caption))
                .append("\"><figcaption>").append(escape(caption)).append("</figcaption></figure>\n");
        return this;
    }

    /** A table with a header row. */
    public Html table(List<String> header, List<List<String>> rows) {
        body.append("<table><tr>");
        header.forEach(h -> body.append("<th>").append(escape(h)).append("</th>"));
        body.append("</tr>\n");
        for (List<String> row : rows) {
            body.append("<tr>");
            row.forEach(c -> body.append("<td>").append(escape(c)).append("</td>"));
            body.append("</tr>\n");
        }
        body.append("</table>\n");
        return this;
    }

    public void write(Path file) throws IOException {
        if (file.getParent() != null) {
            Files.createDirectories(file.getParent());
        }
        String page = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + escape(title) + "</title>\n<style>"
                + "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}"
                + "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
                + "th{background:#f3f3f3}td:first-child{text-align:left}figure{margin:1.5em 0}img{max-width:100%}"
                + "figcaption{color:#555;font-size:90%}</style></head><body>\n<h1>" + escape(title) + "</h1>\n" + body
                + "</body></html>\n";
        Files.writeString(file, page);
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
