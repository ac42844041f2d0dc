
#include <map>
#include <vector>
#include <string>


#include "binacpp.h"
#include "binacpp_websocket.h"
#include <json/json.h>

#define API_KEY 		"{{KEY}}"
#define SECRET_KEY		"{{SECRET}}"




using namespace std;

map < string, map <double,double> >  depthCache;
int lastUpdateId = 0;



//-----------------------------
int ws_onData( Json::Value &json_result) {

	cout << json_result << endl;
}



//--------------------------

int main() {


	string api_key 		= API_KEY;
	string secret_key = SECRET_KEY;
	BinaCPP::init( api_key , secret_key );


	/*
		The Json::value object each element can be access like hash map <>, 
		or vector <> if it is Json::array
	*/
	Json::Value result;
	long recvWindow = 10000;	

	
	//------------------------------------
	// Example : Get Server Time.
	BinaCPP::get_serverTime( result ) ;
	cout << result << endl;
	//*/

	/*
	// -------------------------------------------------------------
	// Example: Get Account 
	BinaCPP::get_account( recvWindow , result );
	cout << result << endl;
	//*/

	return 0;
}
