# One INTERFACE target carries the language standard, the warnings and Qt's safety macros;
# every target of the project links it.
add_library(kvdesk_options INTERFACE)
target_compile_features(kvdesk_options INTERFACE cxx_std_20)
target_compile_options(kvdesk_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough -Wformat=2
  $<$<BOOL:${KVDESK_WERROR}>:-Werror>)
target_compile_definitions(kvdesk_options INTERFACE
  QT_NO_CAST_FROM_ASCII QT_NO_CAST_TO_ASCII QT_NO_CAST_FROM_BYTEARRAY QT_NO_URL_CAST_FROM_STRING
  QT_NO_NARROWING_CONVERSIONS_IN_CONNECT QT_NO_FOREACH QT_NO_KEYWORDS QT_USE_QSTRINGBUILDER
  QT_DISABLE_DEPRECATED_BEFORE=0x060400
  KVDESK_VERSION="${PROJECT_VERSION}")
if(NOT KVDESK_SANITIZE)
  # Debian's default hardening (dpkg-buildflags): checked libc calls, stack protector, read-only
  # relocations.
  target_compile_options(kvdesk_options INTERFACE -fstack-protector-strong
                         $<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=2>)
  target_link_options(kvdesk_options INTERFACE -Wl,-z,relro)
endif()
if(KVDESK_SANITIZE)
  target_compile_options(kvdesk_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                         -fno-sanitize-recover=undefined)
  target_link_options(kvdesk_options INTERFACE -fsanitize=address,undefined)
  # Memory figures mean nothing under ASan (shadow memory, quarantine): tests skip those checks.
  target_compile_definitions(kvdesk_options INTERFACE KVDESK_SANITIZE=1)
endif()
