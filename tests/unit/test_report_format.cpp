// The JSON writer and the formatters of the report layer (src/report/json.h, format.h, state.h):
// what `carlo report --json`, `carlo report`, `carlo info` and `carlo run`'s closing lines print.
#include "report/format.h"
#include "report/json.h"
#include "report/state.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace carlo::report {
namespace {

std::string as_json(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(JsonWriter, NestsMembersAndElementsWithTwoSpaceIndent) {
  JsonWriter j;
  j.begin_object();
  j.string("name", "pi");
  j.begin_array("values");
  j.integer(nullptr, 1);
  j.boolean(nullptr, true);
  j.end_array();
  j.null("plot");
  j.end_object();
  EXPECT_EQ(
      j.str(),
      "{\n  \"name\": \"pi\",\n  \"values\": [\n    1,\n    true\n  ],\n  \"plot\": null\n}\n");
}

TEST(JsonWriter, EmptyContainersCloseOnTheirOpeningLine) {
  JsonWriter j;
  j.begin_object();
  j.begin_array("tasks");
  j.end_array();
  j.begin_object("options");
  j.end_object();
  j.end_object();
  EXPECT_EQ(j.str(), "{\n  \"tasks\": [],\n  \"options\": {}\n}\n");
}

TEST(JsonWriter, NumbersKeepEveryDigitAndNonFiniteOnesAreNull) {
  EXPECT_EQ(json_number(0.1), "0.10000000000000001");
  EXPECT_EQ(json_number(std::nan("")), "null");
  EXPECT_EQ(json_number(std::numeric_limits<double>::infinity()), "null");
  JsonWriter j;
  j.begin_object();
  j.number("mean", -std::numeric_limits<double>::infinity());
  j.string_member("sim.alpha", "0.85");
  j.end_object();
  EXPECT_EQ(j.str(), "{\n  \"mean\": null,\n  \"sim.alpha\": \"0.85\"\n}\n");
}

TEST(JsonString, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(as_json("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(as_json("1\n2\r3\t4"), R"("1\n2\r3\t4")");
  EXPECT_EQ(as_json(std::string("\x01\x1f\x7f", 3)), R"("\u0001\u001f\u007f")");
}

TEST(JsonString, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(as_json("naïve ∑ 🎲"), "\"naïve ∑ 🎲\"");
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(as_json("a\xFF"
                    "b"),
            "\"a" + replacement + "b\"");                                   // never a UTF-8 byte
  EXPECT_EQ(as_json("\xC3"), "\"" + replacement + "\"");                    // truncated sequence
  EXPECT_EQ(as_json("\xC0\xAF"), "\"" + replacement + replacement + "\"");  // overlong '/'
  EXPECT_EQ(as_json("\xED\xA0\x80"),
            "\"" + replacement + replacement + replacement + "\"");  // surrogate
}

TEST(Format, EstimateIsTheClosingLineOfCarloRun) {
  io::Summary s;
  s.count = 1000;
  s.mean = 0.785398163397;
  s.stderr_ = 0.000411;
  s.sd = 0.4105;
  s.p2_5 = 0;
  s.p97_5 = 1;
  EXPECT_EQ(format_estimate(s),
            "0.7853981634 +- 0.000411 (stderr; sd 0.4105, 95% of tasks in [0, 1], n=1000)");
}

TEST(Format, EstimatesShowTheDigitsTheirIntervalSupports) {
  EXPECT_EQ(format_to_precision_of(3.14159265, 0.0123), "3.1416");
  EXPECT_EQ(format_to_precision_of(3.14159265, 0), "3.1415927");
  EXPECT_EQ(format_to_precision_of(std::nan(""), 0.1), "n/a");
  EXPECT_EQ(format_number(std::nan("")), "n/a");
  EXPECT_EQ(format_rate(12345.6), "12346");
  EXPECT_EQ(format_rate(0.012345), "0.0123");
}

TEST(Format, PluralsAndTimes) {
  EXPECT_EQ(plural(1, "batch"), "1 batch");
  EXPECT_EQ(plural(3, "batch"), "3 batches");
  EXPECT_EQ(plural(0, "task"), "0 tasks");
  EXPECT_EQ(format_utc(0), "1970-01-01T00:00:00Z");
}

TEST(Format, ShortMessageKeepsTheFirstLineCutAtACharacterBoundary) {
  EXPECT_EQ(short_message("one line"), "one line");
  EXPECT_EQ(short_message("first\nsecond"), "first ...");
  // 159 ASCII bytes then 'é' (2 bytes) straddles byte 160: the cut goes before it.
  const std::string cut = short_message(std::string(159, 'x') + "é" + "tail");
  EXPECT_EQ(cut, std::string(159, 'x') + " ...");
}

TEST(Format, OptionsWrapAt100ColumnsUnderTheirPrefix) {
  std::vector<std::pair<std::string, std::string>> options;
  for (int i = 0; i < 12; ++i) options.emplace_back("option" + std::to_string(i), "value");
  const std::string text = format_options(options, "  options    ");
  std::size_t start = 0, lines = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    EXPECT_LE(end - start, 100u);
    EXPECT_EQ(text.compare(start, 13, lines == 0 ? "  options    " : std::string(13, ' ')), 0);
    ++lines;
  }
  EXPECT_EQ(lines, 2u);
  EXPECT_EQ(start, text.size());  // ends in a newline
}

TEST(State, OnlyCompleteIsComplete) {
  io::ResultsInfo info;
  info.meta.tasks = 10;
  info.done = 4;
  info.state = "complete";
  EXPECT_TRUE(describe_state(info).complete);
  EXPECT_EQ(describe_state(info).banner, "");
  info.state = "partial";
  EXPECT_EQ(describe_state(info).word, "PARTIAL");
  EXPECT_NE(describe_state(info).banner.find("4 of 10 tasks done"), std::string::npos);
  info.state = "running";
  EXPECT_EQ(describe_state(info).word, "RUNNING");
  info.state = "weird";
  const StateText t = describe_state(info);
  EXPECT_FALSE(t.complete);
  EXPECT_EQ(t.word, "PARTIAL");
  EXPECT_EQ(t.title_word, "PARTIAL (state weird)");
  EXPECT_EQ(t.info_line, "UNKNOWN STATE 'weird' - not a complete result");
}

}  // namespace
}  // namespace carlo::report
