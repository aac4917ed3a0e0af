// One main for every test executable, whichever Catch2 major version is in use.
#if __has_include(<catch2/catch_all.hpp>) && !defined(GANOPS_CATCH2_V2)
#include <catch2/catch_session.hpp>
int main(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }
#else
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#endif
