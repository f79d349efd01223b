// A shared library that is not a carlo plugin: it exports a function, but neither
// carlo_plugin_abi nor carlo_plugin_register. `carlo run --plugin` must refuse it.
extern "C" __attribute__((visibility("default"))) int not_a_carlo_plugin() { return 42; }
