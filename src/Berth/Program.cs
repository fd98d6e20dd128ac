using Berth;

return MultiCall.Run(args);
