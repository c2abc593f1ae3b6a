# Install rules; the .deb (CPack), desktop entry and man page come with the packaging issue.
include(GNUInstallDirs)
install(TARGETS kvdesk RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/kvdesk.service DESTINATION lib/systemd/system)
