@echo off
rem Registers coworkd as the Windows service CoworkAgentD. Run as Administrator.
set SVC=CoworkAgentD
sc.exe query %SVC% >nul 2>&1
if %errorlevel% equ 0 (set VERB=config) else (set VERB=create)
sc.exe %VERB% %SVC% binPath= "\"C:\Program Files\Cowork\coworkd.exe\" --daemon --mode system --app-data-dir C:\ProgramData\Cowork --endpoint tcp://127.0.0.1:39309 --token-file C:\ProgramData\Cowork\daemon\auth.token --lock-file C:\ProgramData\Cowork\daemon\agentd.lock" start= auto DisplayName= "Cowork Agent Daemon"
if errorlevel 1 exit /b 1
sc.exe description %SVC% "Cowork background agent service"
rem Restart on failure: twice after 2 s, then after 60 s; reset daily.
sc.exe failure %SVC% reset= 86400 actions= restart/2000/restart/2000/restart/60000
sc.exe start %SVC%
