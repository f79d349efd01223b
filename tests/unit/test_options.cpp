// A simulation's declarations are checked where they are made (include/carlo/simulation.h):
// OptionSet refuses option names carlo run could not parse, Registry refuses bad simulations
// naming them. That every option of carlo run is reserved is checked end to end
// (plugin.refuses_every_run_option_name).

#include <carlo/error.h>
#include <carlo/simulation.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

namespace carlo {
namespace {

/// The message of the InputError `f` throws ("" if it throws none).
template <class F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

class Nothing final : public Simulation {
 public:
  std::vector<std::string> observation_names() const override { return {"x"}; }
  void run(Task&) override {}
};

SimulationInfo sim_declaring(std::string name, std::function<void(OptionSet&)> declare = {}) {
  SimulationInfo info;
  info.name = std::move(name);
  info.declare_options = std::move(declare);
  info.create = [](const OptionValues&, const RaggedView&) -> std::unique_ptr<Simulation> {
    return std::make_unique<Nothing>();
  };
  return info;
}

TEST(OptionSet, KeepsWellFormedNamesInDeclarationOrder) {
  OptionSet o;
  o.add_int("samples-per-task", 10, "").add_real("alpha2", 0.5, "").add_flag("x", "");
  ASSERT_EQ(o.decls().size(), 3u);
  EXPECT_EQ(o.decls()[0].name, "samples-per-task");
  EXPECT_EQ(o.decls()[1].name, "alpha2");
  EXPECT_EQ(o.decls()[2].name, "x");
}

TEST(OptionSet, RefusesANameDeclaredTwiceWhateverItsKind) {
  OptionSet o;
  o.add_int("rows", 1, "");
  const auto msg = input_error([&] { o.add_real("rows", 2.0, ""); });
  EXPECT_NE(msg.find("--rows is declared twice"), std::string::npos) << msg;
  EXPECT_EQ(o.decls().size(), 1u);
}

TEST(OptionSet, RefusesNamesCarloRunCannotParse) {
  for (const char* bad :
       {"--dashed", "with space", "Upper", "9lives", "", "under_score", "-x", "a.b", "a=b"}) {
    OptionSet o;
    const auto msg = input_error([&] { o.add_text(bad, "", ""); });
    EXPECT_NE(msg.find("option name '" + std::string(bad) + "' is invalid"), std::string::npos)
        << "name '" << bad << "': " << msg;
    EXPECT_TRUE(o.decls().empty());
  }
}

TEST(OptionSet, RefusesReservedNames) {
  OptionSet o({"seed", "o"});
  EXPECT_NE(input_error([&] { o.add_int("seed", 1, ""); }).find("--seed is one of carlo run's own"),
            std::string::npos);
  EXPECT_NE(input_error([&] { o.add_flag("o", ""); }).find("--o is one of carlo run's own"),
            std::string::npos);
  EXPECT_EQ(input_error([&] { o.add_int("seeds", 1, ""); }), "");
}

TEST(Registry, RefusesSimulationNamesThatNeedQuoting) {
  for (const char* bad : {"my sim/with spaces", "", "a/b", "tab\there", "pi!"}) {
    Registry r;
    const auto msg = input_error([&] { r.add(sim_declaring(bad)); });
    EXPECT_NE(msg.find("simulation name '" + std::string(bad) + "' is invalid"), std::string::npos)
        << "name '" << bad << "': " << msg;
    EXPECT_TRUE(r.names().empty());
  }
  Registry r;
  r.add(sim_declaring("My_sim-2"));
  EXPECT_NE(r.find("My_sim-2"), nullptr);
}

TEST(Registry, RefusesTheSameSimulationNameTwice) {
  Registry r;
  r.add(sim_declaring("rowlen"));
  const auto msg = input_error([&] { r.add(sim_declaring("rowlen")); });
  EXPECT_NE(msg.find("simulation 'rowlen' is registered twice"), std::string::npos) << msg;
  EXPECT_EQ(r.names().size(), 1u);
}

TEST(Registry, ChecksDeclaredOptionsAtRegistrationNamingTheSimulation) {
  Registry r({"seed"});
  const auto msg = input_error([&] {
    r.add(sim_declaring("rowlen",
                        [](OptionSet& o) { o.add_int("rows", 1, "").add_int("seed", 2, ""); }));
  });
  EXPECT_EQ(msg,
            "simulation 'rowlen': option --seed is one of carlo run's own options (rename it)");
  EXPECT_EQ(r.find("rowlen"), nullptr);
}

TEST(Registry, PassesItsReservedNamesToEveryDeclaration) {
  Registry r({"tasks"});
  EXPECT_EQ(input_error([&] {
              r.add(sim_declaring("a", [](OptionSet& o) { o.add_int("tasks-per-row", 1, ""); }));
            }),
            "");
  EXPECT_NE(input_error([&] {
              r.add(sim_declaring("b", [](OptionSet& o) { o.add_int("tasks", 1, ""); }));
            }).find("simulation 'b': option --tasks"),
            std::string::npos);
}

}  // namespace
}  // namespace carlo
