// Sizes and counts on the command line (include/carlo/units.h).
#include <carlo/error.h>
#include <carlo/units.h>

#include <gtest/gtest.h>

#include <string>

namespace carlo {
namespace {

TEST(ParseSize, PlainNumberIsBytes) { EXPECT_EQ(parse_size("1000", "--bytes"), 1000u); }

TEST(ParseSize, BinarySuffixesArePowersOf1024) {
  EXPECT_EQ(parse_size("256MiB", "--bytes"), 256ull << 20);
  EXPECT_EQ(parse_size("4GiB", "--bytes"), 4ull << 30);
  EXPECT_EQ(parse_size("2KiB", "--bytes"), 2048u);
  EXPECT_EQ(parse_size("1TiB", "--bytes"), 1ull << 40);
}

TEST(ParseSize, DecimalSuffixesArePowersOf1000) {
  EXPECT_EQ(parse_size("10kB", "--bytes"), 10'000u);
  EXPECT_EQ(parse_size("1.5GB", "--bytes"), 1'500'000'000u);
  EXPECT_EQ(parse_size("3M", "--bytes"), 3'000'000u);
}

TEST(ParseSize, SuffixesAreCaseInsensitive) {
  EXPECT_EQ(parse_size("4gib", "--bytes"), 4ull << 30);
  EXPECT_EQ(parse_size("1MIB", "--bytes"), 1ull << 20);
}

TEST(ParseSize, BeyondFourGiBDoesNotWrap) {
  EXPECT_EQ(parse_size("5GiB", "--bytes"), 5ull << 30);
  EXPECT_EQ(parse_size("1e12", "--bytes"), 1'000'000'000'000ull);
}

void expect_bad_size(const std::string& text) {
  try {
    parse_size(text, "--bytes");
    FAIL() << "'" << text << "' accepted";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("--bytes"), std::string::npos) << msg;
  }
}

TEST(ParseSize, MalformedSizesAreRefusedNamingTheOption) {
  for (const char* bad : {"", "abc", "-5", "5XB", "MiB", "1.2.3GiB", " 5", "5 MiB", "1e30", "+3"})
    expect_bad_size(bad);
}

TEST(ParseCount, AcceptsSuffixesAndScientificForm) {
  EXPECT_EQ(parse_count("1000", "--rows"), 1000u);
  EXPECT_EQ(parse_count("10k", "--rows"), 10'000u);
  EXPECT_EQ(parse_count("2M", "--rows"), 2'000'000u);
  EXPECT_EQ(parse_count("1e6", "--rows"), 1'000'000u);
  EXPECT_EQ(parse_count("1.5k", "--rows"), 1500u);
}

TEST(ParseCount, RefusesFractionsNegativesAndJunk) {
  for (const char* bad : {"1.5", "-1", "12x", "", "ten", "1KiB"}) {
    try {
      parse_count(bad, "--rows");
      ADD_FAILURE() << "'" << bad << "' accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--rows"), std::string::npos) << e.what();
    }
  }
}

TEST(FormatBytes, UsesBinaryUnits) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(4ull << 30), "4.00 GiB");
  EXPECT_EQ(format_bytes(1536), "1.50 KiB");
}

}  // namespace
}  // namespace carlo
