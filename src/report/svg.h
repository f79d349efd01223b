#pragma once
/// \file
/// A small SVG 1.1 writer for `carlo report --plot`: elements appended as text, axes with "nice"
/// ticks. Self-contained output (no scripts, fonts or external references), so the file opens in
/// any browser and renders with rsvg-convert. Not thread-safe; one Document per thread.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace carlo::report::svg {

/// Escapes text for XML character data and attribute values (& < > " ').
std::string escape(std::string_view text);
/// A pixel coordinate with at most two decimals, trailing zeros dropped ("12.5", "-3").
std::string coord(double v);

struct Point {
  double x = 0, y = 0;
};

/// The document under construction. Coordinates are pixels, y downwards. `style` arguments are
/// raw attribute text (e.g. `fill="#345" stroke="none"`), written as given.
class Document {
 public:
  Document(double width, double height);

  /// The document's <title> (what viewers show as its name); escaped here.
  void title(std::string_view text);
  void rect(double x, double y, double w, double h, std::string_view style);
  void line(double x1, double y1, double x2, double y2, std::string_view style);
  void polyline(std::span<const Point> points, std::string_view style);
  void polygon(std::span<const Point> points, std::string_view style);
  /// `anchor` is start, middle or end; `text` is escaped here.
  void text(double x, double y, std::string_view text, std::string_view anchor = "start",
            double size = 12, std::string_view style = {});
  /// Text rotated by -90 degrees around (x, y), for vertical axis titles.
  void vertical_text(double x, double y, std::string_view text, double size = 12);
  /// A clip rectangle usable as `clip-path="url(#id)"`.
  void clip_rect(std::string_view id, double x, double y, double w, double h);
  /// Opens a <g> with the given raw attributes; every open_group needs a close_group.
  void open_group(std::string_view attributes);
  void close_group();

  /// The whole document; the Document stays usable.
  std::string str() const;
  double width() const noexcept { return width_; }
  double height() const noexcept { return height_; }
  /// Grows the canvas (layouts that know their height only at the end).
  void set_height(double height) noexcept { height_ = height; }

 private:
  double width_, height_;
  std::string title_;
  std::string defs_;
  std::string body_;
  int open_groups_ = 0;
};

/// Maps data values in [lo, hi] to pixels [p0, p1] linearly (p1 < p0 for a y axis).
struct Scale {
  double lo = 0, hi = 1, p0 = 0, p1 = 1;
  double operator()(double v) const noexcept;
};

/// About `target` round tick values (multiples of 1, 2 or 5 times a power of ten) within
/// [lo, hi]; lo <= hi, both finite.
std::vector<double> nice_ticks(double lo, double hi, int target);
/// A tick label: as few digits as distinguish ticks `step` apart ("0.25", "3.1416"); when the
/// largest tick magnitude `largest` reaches 10^4, whole numbers are scaled with a suffix shared by
/// the axis ("200k", "1.5M"), and tiny or huge steps use exponents.
std::string tick_label(double v, double step, double largest);
/// 1234567 -> "1,234,567".
std::string grouped(std::uint64_t v);

/// A plot frame: axes, ticks, grid, title and axis titles, drawn into `doc`. Returns the x and y
/// scales of the plot area so callers draw the data.
struct Frame {
  double x = 0, y = 0, w = 0, h = 0;  ///< the plot area in pixels
  std::string title, x_title, y_title;
  bool y_ticks = true;  ///< false: no y ticks or grid (lanes, not values)
};
std::pair<Scale, Scale> draw_frame(Document& doc, const Frame& frame, double x_lo, double x_hi,
                                   double y_lo, double y_hi);

}  // namespace carlo::report::svg
