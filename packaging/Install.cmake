# Install rules; the .deb (CPack), desktop entry and man page come with the packaging issue.
include(GNUInstallDirs)
install(TARGETS kvdesk RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS kvdesk_gui LIBRARY DESTINATION lib/kvdesk) # where kvdesk looks: ../lib/kvdesk
install(FILES ${PROJECT_SOURCE_DIR}/packaging/kvdesk.service DESTINATION lib/systemd/system)
