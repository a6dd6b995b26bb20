#pragma once
// A tiny bitmap font for drawing text into images (chart labels, captions) without any font
// library. Every printable ASCII character (32..126) is a 5x7 pixel picture with 2 more rows
// below the baseline for the tails of g, j, p, q, y and the comma. Text is drawn one glyph
// after another, each 6 pixels wide (one blank column between letters).
#include <string>

namespace ember {

constexpr int kGlyphWidth = 5;    // pixels of ink per character, at most
constexpr int kGlyphHeight = 9;   // 7 rows above the baseline + 2 rows of descenders
constexpr int kGlyphAscent = 7;   // rows above the baseline (the height of capital letters)
constexpr int kGlyphAdvance = 6;  // distance from one character to the next

// True where the glyph of `c` has ink at (row, column), row 0 at the top.
// Characters outside 32..126 are drawn as '?'.
bool glyph_pixel(char c, int row, int column);

// Width and height in pixels of `text` drawn at an integer `scale` (each font pixel becomes a
// scale x scale square). The width has no trailing blank column; "" is 0 wide.
int text_width(const std::string& text, int scale = 1);
int text_height(int scale = 1);

}  // namespace ember
