// SVG as text. Numbers are written with two decimals at most: a hundredth of a pixel is below
// anything a renderer shows, and it keeps a 1,000-point polyline around 15 KB.
#include "report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace carlo::report::svg {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters other than tab/newline are not allowed in XML 1.0 at all.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') out += ' ';
        else out += c;
    }
  }
  return out;
}

std::string coord(double v) {
  if (!std::isfinite(v)) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

Document::Document(double width, double height) : width_(width), height_(height) {}

void Document::title(std::string_view text) { title_ = escape(text); }

void Document::rect(double x, double y, double w, double h, std::string_view style) {
  body_ += "<rect x=\"" + coord(x) + "\" y=\"" + coord(y) + "\" width=\"" +
           coord(std::max(w, 0.0)) + "\" height=\"" + coord(std::max(h, 0.0)) + "\" " +
           std::string(style) + "/>\n";
}

void Document::line(double x1, double y1, double x2, double y2, std::string_view style) {
  body_ += "<line x1=\"" + coord(x1) + "\" y1=\"" + coord(y1) + "\" x2=\"" + coord(x2) +
           "\" y2=\"" + coord(y2) + "\" " + std::string(style) + "/>\n";
}

namespace {

std::string point_list(std::span<const Point> points) {
  std::string out;
  out.reserve(points.size() * 14);
  for (const Point& p : points) {
    if (!out.empty()) out += ' ';
    out += coord(p.x) + "," + coord(p.y);
  }
  return out;
}

}  // namespace

void Document::polyline(std::span<const Point> points, std::string_view style) {
  body_ += "<polyline points=\"" + point_list(points) + "\" " + std::string(style) + "/>\n";
}

void Document::polygon(std::span<const Point> points, std::string_view style) {
  body_ += "<polygon points=\"" + point_list(points) + "\" " + std::string(style) + "/>\n";
}

void Document::text(double x, double y, std::string_view text, std::string_view anchor, double size,
                    std::string_view style) {
  body_ += "<text x=\"" + coord(x) + "\" y=\"" + coord(y) + "\" font-size=\"" + coord(size) +
           "\" text-anchor=\"" + std::string(anchor) + "\"" +
           (style.empty() ? "" : " " + std::string(style)) + ">" + escape(text) + "</text>\n";
}

void Document::vertical_text(double x, double y, std::string_view text, double size) {
  body_ += "<text transform=\"translate(" + coord(x) + "," + coord(y) +
           ") rotate(-90)\" font-size=\"" + coord(size) + "\" text-anchor=\"middle\">" +
           escape(text) + "</text>\n";
}

void Document::clip_rect(std::string_view id, double x, double y, double w, double h) {
  defs_ += "<clipPath id=\"" + escape(id) + "\"><rect x=\"" + coord(x) + "\" y=\"" + coord(y) +
           "\" width=\"" + coord(w) + "\" height=\"" + coord(h) + "\"/></clipPath>\n";
}

void Document::open_group(std::string_view attributes) {
  body_ += "<g " + std::string(attributes) + ">\n";
  ++open_groups_;
}

void Document::close_group() {
  if (open_groups_ == 0) return;
  body_ += "</g>\n";
  --open_groups_;
}

std::string Document::str() const {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" +
      coord(width_) + "\" height=\"" + coord(height_) + "\" viewBox=\"0 0 " + coord(width_) + " " +
      coord(height_) + "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n";
  if (!title_.empty()) out += "<title>" + title_ + "</title>\n";
  if (!defs_.empty()) out += "<defs>\n" + defs_ + "</defs>\n";
  out += "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out += body_;
  for (int i = 0; i < open_groups_; ++i) out += "</g>\n";
  out += "</svg>\n";
  return out;
}

double Scale::operator()(double v) const noexcept {
  if (hi == lo) return (p0 + p1) / 2;
  return p0 + (v - lo) / (hi - lo) * (p1 - p0);
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> ticks;
  if (!(lo <= hi) || !std::isfinite(lo) || !std::isfinite(hi)) return ticks;
  if (lo == hi) return {lo};
  const double raw = (hi - lo) / std::max(target, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  // Ticks as integer multiples of the step, so 0.1 + 0.2 style drift never shows in a label.
  const double first = std::ceil(lo / step - 1e-9);
  const double last = std::floor(hi / step + 1e-9);
  for (double k = first; k <= last && ticks.size() < 100; k += 1) ticks.push_back(k * step);
  return ticks;
}

std::string tick_label(double v, double step, double largest) {
  char buf[64];
  if (std::fabs(v) < step * 1e-6) v = 0;
  const auto fixed = [&](double value, double unit_step, const char* suffix) {
    const int decimals =
        unit_step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(unit_step) - 1e-9));
    if (value == 0) return std::string("0");
    std::snprintf(buf, sizeof buf, "%.*f%s", decimals, value, suffix);
    return std::string(buf);
  };
  std::string s;
  if (largest >= 1e4 && largest < 1e15 && step >= 1) {
    // One suffix per axis, chosen by the largest tick, so labels line up: 0, 250k, 500k, 750k.
    double scale = 1e3;
    const char* suffix = "k";
    if (largest >= 1e12) scale = 1e12, suffix = "T";
    else if (largest >= 1e9) scale = 1e9, suffix = "G";
    else if (largest >= 1e6) scale = 1e6, suffix = "M";
    s = fixed(v / scale, step / scale, suffix);
  } else if (largest < 1e4 && step >= 1e-4) {
    s = fixed(v, step, "");
  } else {
    const double big = std::max(std::fabs(v), step);
    const int digits = std::clamp(
        static_cast<int>(std::floor(std::log10(big)) - std::floor(std::log10(step))) + 1, 1, 15);
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    s = buf;
  }
  if (s == "-0") s = "0";
  return s;
}

std::string grouped(std::uint64_t v) {
  const std::string digits = std::to_string(v);
  std::string s;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s += ',';
    s += digits[i];
  }
  return s;
}

std::pair<Scale, Scale> draw_frame(Document& doc, const Frame& f, double x_lo, double x_hi,
                                   double y_lo, double y_hi) {
  const Scale sx{x_lo, x_hi, f.x, f.x + f.w};
  const Scale sy{y_lo, y_hi, f.y + f.h, f.y};
  doc.rect(f.x, f.y, f.w, f.h, "fill=\"#fbfbfb\" stroke=\"none\"");

  const auto largest = [](const std::vector<double>& ticks) {
    double m = 0;
    for (const double t : ticks) m = std::max(m, std::fabs(t));
    return m;
  };
  const auto xt = nice_ticks(x_lo, x_hi, 6);
  const double x_step = xt.size() > 1 ? xt[1] - xt[0] : std::max(std::fabs(x_lo), 1.0);
  const double x_largest = largest(xt);
  for (const double t : xt) {
    const double px = sx(t);
    doc.line(px, f.y, px, f.y + f.h, "stroke=\"#e4e4e4\" stroke-width=\"1\"");
    doc.line(px, f.y + f.h, px, f.y + f.h + 4, "stroke=\"#444\" stroke-width=\"1\"");
    doc.text(px, f.y + f.h + 16, tick_label(t, x_step, x_largest), "middle", 10.5);
  }
  const auto yt = f.y_ticks ? nice_ticks(y_lo, y_hi, 5) : std::vector<double>{};
  const double y_step = yt.size() > 1 ? yt[1] - yt[0] : std::max(std::fabs(y_lo), 1.0);
  const double y_largest = largest(yt);
  for (const double t : yt) {
    const double py = sy(t);
    doc.line(f.x, py, f.x + f.w, py, "stroke=\"#e4e4e4\" stroke-width=\"1\"");
    doc.line(f.x - 4, py, f.x, py, "stroke=\"#444\" stroke-width=\"1\"");
    doc.text(f.x - 6, py + 3.5, tick_label(t, y_step, y_largest), "end", 10.5);
  }
  doc.rect(f.x, f.y, f.w, f.h, "fill=\"none\" stroke=\"#444\" stroke-width=\"1\"");
  if (!f.title.empty()) doc.text(f.x, f.y - 8, f.title, "start", 13, "font-weight=\"bold\"");
  if (!f.x_title.empty()) doc.text(f.x + f.w / 2, f.y + f.h + 34, f.x_title, "middle", 11.5);
  if (!f.y_title.empty()) doc.vertical_text(f.x - 52, f.y + f.h / 2, f.y_title, 11.5);
  return {sx, sy};
}

}  // namespace carlo::report::svg
