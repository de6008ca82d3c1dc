"""Local fakes of the providers: real HTTP servers speaking their wire protocols, with real signatures."""
