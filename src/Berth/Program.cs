Console.WriteLine("hello from berth");
return 0;
