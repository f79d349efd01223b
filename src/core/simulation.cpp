#include <carlo/simulation.h>
#include <carlo/units.h>

#include <algorithm>

namespace carlo {

OptionSet& OptionSet::add(Decl decl) {
  const std::string& name = decl.name;
  // carlo run parses simulation options as --NAME next to its own, with Boost: any other
  // character, a leading dash or digit, or a name it already knows could not be typed or would
  // make Boost refuse every run with an "ambiguous option" error that names no simulation.
  const bool valid = !name.empty() && name.front() >= 'a' && name.front() <= 'z' &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                     });
  if (!valid)
    throw InputError("option name '" + name +
                     "' is invalid (use a lowercase letter, then a-z, 0-9 and '-'; no dashes in "
                     "front)");
  for (const auto& d : decls_)
    if (d.name == name) throw InputError("option --" + name + " is declared twice");
  if (std::find(reserved_.begin(), reserved_.end(), name) != reserved_.end())
    throw InputError("option --" + name + " is one of carlo run's own options (rename it)");
  decls_.push_back(std::move(decl));
  return *this;
}

OptionSet& OptionSet::add_int(std::string name, std::int64_t default_value, std::string help) {
  return add({std::move(name), Kind::integer, std::to_string(default_value), std::move(help)});
}
OptionSet& OptionSet::add_real(std::string name, double default_value, std::string help) {
  return add({std::move(name), Kind::real, format_real(default_value), std::move(help)});
}
OptionSet& OptionSet::add_text(std::string name, std::string default_value, std::string help) {
  return add({std::move(name), Kind::text, std::move(default_value), std::move(help)});
}
OptionSet& OptionSet::add_flag(std::string name, std::string help) {
  return add({std::move(name), Kind::flag, "false", std::move(help)});
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
          else if constexpr (std::is_same_v<T, double>) return format_real(x);
          else if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
          else return x;
        },
        v);
    out.emplace_back(name, std::move(text));
  }
  return out;
}

void Registry::add(SimulationInfo info) {
  const std::string& name = info.name;
  // The name is typed after --sim, written into results files and printed in lists: no spaces,
  // slashes or other characters that need quoting.
  const bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  if (!valid)
    throw InputError("simulation name '" + name +
                     "' is invalid (use letters, digits, '_' and '-' only)");
  if (find(name)) throw InputError("simulation '" + name + "' is registered twice");
  if (!info.create) throw InputError("simulation '" + name + "' has no create function");
  if (info.declare_options) {
    OptionSet declared(reserved_options_);
    try {
      info.declare_options(declared);
    } catch (const InputError& e) {
      throw InputError("simulation '" + name + "': " + e.what());
    }
  }
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
