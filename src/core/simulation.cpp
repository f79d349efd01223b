#include <carlo/simulation.h>

#include <algorithm>
#include <charconv>

namespace carlo {

namespace {
// Shortest text that reads back as the same double: 0.85, not 0.84999999999999998.
std::string real_text(double v) {
  char buf[40];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}
}  // namespace

OptionSet& OptionSet::add_int(std::string name, std::int64_t default_value, std::string help) {
  decls_.push_back(
      {std::move(name), Kind::integer, std::to_string(default_value), std::move(help)});
  return *this;
}
OptionSet& OptionSet::add_real(std::string name, double default_value, std::string help) {
  decls_.push_back({std::move(name), Kind::real, real_text(default_value), std::move(help)});
  return *this;
}
OptionSet& OptionSet::add_text(std::string name, std::string default_value, std::string help) {
  decls_.push_back({std::move(name), Kind::text, std::move(default_value), std::move(help)});
  return *this;
}
OptionSet& OptionSet::add_flag(std::string name, std::string help) {
  decls_.push_back({std::move(name), Kind::flag, "false", std::move(help)});
  return *this;
}

const OptionValues::Value& OptionValues::at(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw InputError("simulation option --" + name + " is not declared");
  return it->second;
}

std::int64_t OptionValues::get_int(const std::string& name) const {
  if (auto* p = std::get_if<std::int64_t>(&at(name))) return *p;
  throw InputError("option --" + name + " is not an integer option");
}
double OptionValues::get_real(const std::string& name) const {
  const Value& v = at(name);
  if (auto* p = std::get_if<double>(&v)) return *p;
  if (auto* p = std::get_if<std::int64_t>(&v)) return static_cast<double>(*p);
  throw InputError("option --" + name + " is not a real option");
}
const std::string& OptionValues::get_text(const std::string& name) const {
  if (auto* p = std::get_if<std::string>(&at(name))) return *p;
  throw InputError("option --" + name + " is not a text option");
}
bool OptionValues::get_flag(const std::string& name) const {
  if (auto* p = std::get_if<bool>(&at(name))) return *p;
  throw InputError("option --" + name + " is not a flag");
}

std::vector<std::pair<std::string, std::string>> OptionValues::canonical() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, v] : values_) {
    std::string text = std::visit(
        [](const auto& x) -> std::string {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::int64_t>) return std::to_string(x);
          else if constexpr (std::is_same_v<T, double>) return real_text(x);
          else if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
          else return x;
        },
        v);
    out.emplace_back(name, std::move(text));
  }
  return out;
}

void Registry::add(SimulationInfo info) {
  if (find(info.name)) throw InputError("simulation '" + info.name + "' is registered twice");
  if (!info.create) throw InputError("simulation '" + info.name + "' has no create function");
  sims_.push_back(std::move(info));
}

const SimulationInfo* Registry::find(const std::string& name) const {
  for (const auto& s : sims_)
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto& s : sims_) out.push_back(s.name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace carlo
